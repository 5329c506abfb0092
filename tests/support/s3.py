"""A throwaway S3 endpoint for the test suite: moto's S3 server in its own process.

The server listens on a free loopback port with IAM checks on: requests must be signed with
the keys of the one IAM user the setup creates (a wrong key or secret is refused, as on AWS).
Each test gets a fresh bucket and the environment an operator would give a hub process for
it (``AWS_*``, ``WORKBENCH_STORAGE_URL``).

moto checks header-signed requests but not presigned URLs (query-string SigV4): it neither
verifies their signature nor their expiry. Run as ``python -m tests.support.s3 -p PORT``,
this module serves moto's application behind a check that does what S3 does with them
(``Request has expired``, ``SignatureDoesNotMatch``) and hands valid ones on to moto
header-signed. ``S3Server(refuse_copies=True)`` also answers every server-side copy
(``CopyObject``, ``UploadPartCopy``) ``403 AccessDenied``, as S3 does where a bucket policy
denies copies to keys that may read and write.

>>> server = S3Server().start()                            # doctest: +SKIP
>>> bucket = server.create_bucket("blobs")                 # doctest: +SKIP
>>> HubProcess(tmp_path, env=bucket.hub_env()).start()     # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import atexit
import calendar
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.hub import free_port

__all__ = ["S3Bucket", "S3Server"]

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
_ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
# moto counts requests before it starts checking them: these three make the IAM user.
_SETUP_ACTIONS = 3


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on the test endpoint, and the settings a hub needs to store blobs in it."""

    endpoint: str
    name: str
    key_id: str
    secret: str
    prefix: str = "blobs"

    @property
    def storage_url(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def aws_env(self) -> dict[str, str]:
        """The variables botocore (and so s3fs) reads: what docs/deploy.md tells operators."""
        return {
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def hub_env(self, **settings: str) -> dict[str, str]:
        """Environment of a hub process storing its blobs in this bucket."""
        return {**self.aws_env(), "WORKBENCH_STORAGE_URL": self.storage_url, **settings}

    def client(self) -> Any:
        """A boto3 S3 client with this bucket's keys (to look at what the hub stored)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


class S3Server:
    """``start()``, then ``create_bucket()`` as often as needed, then ``stop()``."""

    def __init__(self, *, refuse_copies: bool = False) -> None:
        self.refuse_copies = refuse_copies
        self.port = 0
        self.key_id = ""
        self.secret = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> S3Server:
        if self.proc is not None:
            raise RuntimeError("S3Server already started")
        self.port = free_port()
        fd, log = tempfile.mkstemp(prefix="workbench-s3-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_ACTIONS), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "tests.support.s3", "-p", str(self.port), "-H", "127.0.0.1"]
        cmd += ["--refuse-copies"] if self.refuse_copies else []
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        atexit.register(self.stop)  # a test run that dies leaves no server behind
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the S3 server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                httpx.get(f"{self.endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the S3 server did not start") from None
                time.sleep(0.1)
        self._create_user()
        return self

    def _create_user(self) -> None:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="workbench-hub")
        key = iam.create_access_key(UserName="workbench-hub")["AccessKey"]
        iam.put_user_policy(UserName="workbench-hub", PolicyName="s3", PolicyDocument=json.dumps(_ALLOW_S3))
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]

    def create_bucket(self, name: str, *, prefix: str = "blobs") -> S3Bucket:
        bucket = S3Bucket(self.endpoint, name, self.key_id, self.secret, prefix)
        bucket.client().create_bucket(Bucket=name)
        return bucket

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


# -- the server process -------------------------------------------------------------------

_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")


def _s3_error(start_response: Any, status: str, code: str, message: str) -> list[bytes]:
    error = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    body = f"<?xml version='1.0' encoding='UTF-8'?>{error}"
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body.encode()]


class _PresignedUrls:
    """WSGI middleware: what S3 checks on a presigned (query-signed SigV4) request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from urllib.parse import parse_qsl, urlencode

        pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        query = dict(pairs)
        if "X-Amz-Signature" not in query:
            return self.app(environ, start_response)
        if environ.get("HTTP_AUTHORIZATION"):
            return _s3_error(
                start_response, "400 Bad Request", "InvalidArgument", "Only one auth mechanism allowed"
            )
        try:
            credentials = self._credentials(query["X-Amz-Credential"].split("/")[0])
        except (KeyError, LookupError):
            return _s3_error(
                start_response, "403 Forbidden", "InvalidAccessKeyId", "The AWS Access Key Id does not exist"
            )
        signed_at = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
        if time.time() > signed_at + int(query["X-Amz-Expires"]):
            return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Request has expired")
        rest = [(k, v) for k, v in pairs if k != "X-Amz-Signature" and k not in _QUERY_AUTH]
        path = environ.get("RAW_URI", environ["PATH_INFO"]).split("?", 1)[0]  # as signed
        if self._signature(environ, path, pairs, credentials) != query["X-Amz-Signature"]:
            return _s3_error(
                start_response,
                "403 Forbidden",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        # Valid: hand it on to moto as the header-signed request it stands for.
        environ["QUERY_STRING"] = urlencode(rest)
        for name in ("RAW_URI", "REQUEST_URI"):
            if name in environ:
                environ[name] = f"{path}?{environ['QUERY_STRING']}" if rest else path
        environ.update(self._header_auth(environ, path, rest, credentials))
        return self.app(environ, start_response)

    @staticmethod
    def _credentials(key_id: str) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

        try:
            key = create_access_key(
                account_id=DEFAULT_ACCOUNT_ID, partition="aws", access_key_id=key_id, headers={}
            )
        except CreateAccessKeyFailure:
            raise LookupError(key_id) from None
        return key.create_credentials()

    @staticmethod
    def _url(environ: dict[str, Any], path: str, pairs: list[tuple[str, str]]) -> str:
        from urllib.parse import urlencode

        return f"http://{environ['HTTP_HOST']}{path}" + (f"?{urlencode(pairs)}" if pairs else "")

    def _signature(
        self, environ: dict[str, Any], path: str, pairs: list[tuple[str, str]], credentials: Any
    ) -> str:
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        query = dict(pairs)
        _key, _date, region, service, _ = query["X-Amz-Credential"].split("/")
        unsigned = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
        request = AWSRequest(method=environ["REQUEST_METHOD"], url=self._url(environ, path, unsigned))
        request.headers["host"] = environ["HTTP_HOST"]
        request.context["timestamp"] = query["X-Amz-Date"]
        auth = S3SigV4QueryAuth(credentials, service, region, expires=int(query["X-Amz-Expires"]))
        # The query already holds the X-Amz-* parameters: sign the request as it came.
        canonical = auth.canonical_request(request)
        return str(auth.signature(auth.string_to_sign(request, canonical), request))

    def _header_auth(
        self, environ: dict[str, Any], path: str, pairs: list[tuple[str, str]], credentials: Any
    ) -> dict[str, str]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=environ["REQUEST_METHOD"], url=self._url(environ, path, pairs))
        request.headers["host"] = environ["HTTP_HOST"]
        S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
        return {
            "HTTP_AUTHORIZATION": request.headers["Authorization"],
            "HTTP_X_AMZ_DATE": request.headers["X-Amz-Date"],
            "HTTP_X_AMZ_CONTENT_SHA256": request.headers["X-Amz-Content-SHA256"],
        }


class _RefuseCopies:
    """WSGI middleware: a server-side copy is refused, as a bucket policy may refuse it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "HTTP_X_AMZ_COPY_SOURCE" in environ:
            return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
        return self.app(environ, start_response)


def _serve(argv: list[str]) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="moto's S3 server, with presigned URLs checked")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--refuse-copies", action="store_true", help="answer copies 403 AccessDenied")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = _PresignedUrls(DomainDispatcherApplication(create_backend_app))
    if args.refuse_copies:
        app = _RefuseCopies(app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    _serve(sys.argv[1:])
