/**
 * Registers the Workbench plugins: the sidebar, repo pages and commands, and the status item.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { bellIcon, usersIcon } from '@jupyterlab/ui-components';

import { WorkbenchApi } from './api';
import { CollectionsModel } from './collections';
import { InboxPanel, InboxStatus } from './components/InboxPanel';
import { registerFileCommands } from './files';
import { InboxModel } from './inbox';
import { RepoPage } from './components/RepoPage';
import { SearchSidebar } from './components/SearchPanel';
import { StatusItem } from './components/StatusItem';
import { TeamPanel } from './components/TeamPanel';
import { registerCommands } from './commands';
import { deepLinkUrl, parseDeepLink, SearchModel } from './model';
import { TeamModel } from './team';
import { CommandIDs, IDeepLink, PLUGIN_ID, RepoType, STATUS_PLUGIN_ID } from './tokens';
import { workbenchIcon } from './icon';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Workbench: search the hub, read repo pages, insert load code.',
  autoStart: true,
  requires: [IRenderMimeRegistry, INotebookTracker],
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ILabShell,
    ISettingRegistry,
    IStatusBar,
    IDefaultFileBrowser
  ],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    _labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const api = new WorkbenchApi(app.serviceManager.serverSettings);
    const model = new SearchModel(query => api.search(query));
    const pages = new Map<string, RepoPage>();

    const openRepo = (type: RepoType, id: string, discussion?: number) => {
      const key = `${type}/${id}`;
      let page = pages.get(key);
      if (page && !page.isDisposed && discussion !== undefined) {
        page.dispose(); // reopen on that discussion
      }
      if (!page || page.isDisposed) {
        page = new RepoPage({
          api,
          rendermime,
          type,
          id,
          onOpen: openRepo,
          onInsertLoadCode: (t, i, commit) =>
            void app.commands.execute(CommandIDs.insertLoadCode, { type: t, id: i, commit }),
          onAddToCollection: (t, i) =>
            void app.commands.execute(CommandIDs.addToCollection, { type: t, id: i }),
          onCopyLink: (t, i) => void app.commands.execute(CommandIDs.copyLink, { type: t, id: i }),
          discussion
        });
        pages.set(key, page);
        app.shell.add(page, 'main');
      }
      app.shell.activateById(page.id);
    };

    const collections = new CollectionsModel(api);
    const sidebar = new SearchSidebar(model, r => openRepo(r.type, r.id), {
      model: collections,
      onOpen: openRepo,
      onNew: () => void app.commands.execute(CommandIDs.newCollection)
    });
    sidebar.title.icon = workbenchIcon;
    app.shell.add(sidebar, 'left', { rank: 850 });
    restorer?.add(sidebar, sidebar.id);
    void model.refresh();
    void collections.refresh();

    // The Team panel: organizations the user administers, access requests, own tokens.
    const team = new TeamModel(api);
    const teamPanel = new TeamPanel(team, openRepo);
    teamPanel.title.icon = usersIcon;
    app.shell.add(teamPanel, 'left', { rank: 851 });
    restorer?.add(teamPanel, teamPanel.id);
    void team.refresh();

    // The inbox: a panel, and the unread count in the status bar.
    const openLink = (link: IDeepLink) => openRepo(link.type, link.id, link.discussion);
    const inbox = new InboxModel(api);
    const inboxPanel = new InboxPanel(inbox, openLink);
    inboxPanel.title.icon = bellIcon;
    app.shell.add(inboxPanel, 'left', { rank: 852 });
    restorer?.add(inboxPanel, inboxPanel.id);
    statusBar?.registerStatusItem('workbench:inbox', {
      item: new InboxStatus(inbox, () => app.shell.activateById(inboxPanel.id)),
      align: 'left',
      rank: 901
    });
    inbox.start();

    app.commands.addCommand(CommandIDs.copyLink, {
      label: 'Workbench: Copy Link to Repo',
      caption: "Copy a link that opens this repo page in a colleague's JupyterLab",
      execute: args => {
        const link = parseDeepLink(`${args.type as string}/${args.id as string}`);
        if (link) {
          Clipboard.copyToSystem(deepLinkUrl(PageConfig.getBaseUrl(), link));
          Notification.success(`Link to ${link.id} copied.`, { autoClose: 3000 });
        }
      }
    });

    // A deep link (/lab/workbench/{type}/{ns}/{name}[/pr/N]) arrives as ?workbench-open=...
    void app.restored.then(() => {
      const url = new URL(window.location.href);
      const target = url.searchParams.get('workbench-open');
      if (target === null) {
        return;
      }
      url.searchParams.delete('workbench-open');
      window.history.replaceState(null, '', url.toString());
      const link = parseDeepLink(target);
      if (link) {
        openLink(link);
      } else {
        void showErrorMessage(
          'Workbench link',
          `The link names no repo: ${target}. Links look like /lab/workbench/model/acme/llm or /lab/workbench/model/acme/llm/pr/3.`
        );
      }
    });

    registerFileCommands(app, api, fileBrowser, openRepo);
    palette?.addItem({ command: CommandIDs.createRepo, category: 'Workbench' });

    registerCommands(app, {
      api,
      rendermime,
      notebooks,
      palette,
      sidebar,
      collections,
      openRepo
    });

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          const limit = settings.get('pageSize').composite as number;
          const hubUrl = (settings.get('hubUrl').composite as string) ?? '';
          void api
            .useHub(hubUrl)
            .then(() => model.update({ limit }))
            .catch(() => model.update({ limit }))
            .then(() => Promise.all([collections.refresh(), team.refresh()]))
            .finally(() => {
              // The status item asks the server which hub it uses: ask again once it switched.
              if (app.commands.hasCommand(CommandIDs.checkHub)) {
                void app.commands.execute(CommandIDs.checkHub);
              }
            });
        };
        settings.changed.connect(apply);
        apply();
      });
    }
  }
};

const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: STATUS_PLUGIN_ID,
  description: 'Status bar item: which Workbench hub, and whether it answers.',
  autoStart: true,
  optional: [IStatusBar, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    if (!statusBar) {
      return;
    }
    const item = new StatusItem(new WorkbenchApi(app.serviceManager.serverSettings), 10_000);
    statusBar.registerStatusItem(STATUS_PLUGIN_ID, { item, align: 'left', rank: 900 });
    app.commands.addCommand(CommandIDs.checkHub, {
      label: 'Workbench: Check the Hub Connection',
      caption: 'Ask the Jupyter server which hub it uses and whether that hub answers',
      execute: () => item.check()
    });
    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          item.interval = 1000 * (settings.get('statusInterval').composite as number);
          void item.check();
        };
        settings.changed.connect(apply);
        apply();
      });
    }
  }
};

export default [plugin, statusPlugin];
