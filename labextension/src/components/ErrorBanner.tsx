import React from 'react';

/** A failed request in plain words, with a retry button; never a blank panel. */
export function ErrorBanner(props: {
  message: string;
  hubDown: boolean;
  onRetry?: () => void;
}): JSX.Element {
  return (
    <div className="wb-Error" role="alert" data-testid="wb-error" data-hub-down={props.hubDown}>
      <span>{props.message}</span>
      {props.onRetry && (
        <button className="jp-mod-styled wb-Error-retry" onClick={props.onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}
