/**
 * Registers the Workbench plugins: the sidebar, repo pages and commands, and the status item.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { usersIcon } from '@jupyterlab/ui-components';

import { WorkbenchApi } from './api';
import { CollectionsModel } from './collections';
import { RepoPage } from './components/RepoPage';
import { SearchSidebar } from './components/SearchPanel';
import { StatusItem } from './components/StatusItem';
import { TeamPanel } from './components/TeamPanel';
import { registerCommands } from './commands';
import { SearchModel } from './model';
import { TeamModel } from './team';
import { CommandIDs, PLUGIN_ID, RepoType, STATUS_PLUGIN_ID } from './tokens';
import { workbenchIcon } from './icon';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Workbench: search the hub, read repo pages, insert load code.',
  autoStart: true,
  requires: [IRenderMimeRegistry, INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer, ILabShell, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    _labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const api = new WorkbenchApi(app.serviceManager.serverSettings);
    const model = new SearchModel(query => api.search(query));
    const pages = new Map<string, RepoPage>();

    const openRepo = (type: RepoType, id: string) => {
      const key = `${type}/${id}`;
      let page = pages.get(key);
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
            void app.commands.execute(CommandIDs.addToCollection, { type: t, id: i })
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
