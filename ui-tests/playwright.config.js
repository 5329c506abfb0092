/**
 * Galata in Debian's chromium (no Playwright browser download), against a JupyterLab that
 * `jlpm start` runs with the real Workbench server extension and a real hub.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const PORT = Number(process.env.WB_UI_PORT || 18890);

module.exports = {
  ...baseConfig,
  reporter: [['list']],
  timeout: 120000,
  workers: 1,
  retries: 0,
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${PORT}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.WB_CHROMIUM || '/usr/bin/chromium',
      args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync']
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `http://127.0.0.1:${PORT}/lab`,
    timeout: 180000,
    reuseExistingServer: false,
    // JupyterLab's request log would bury the test report; WB_UI_VERBOSE=1 shows it.
    stdout: process.env.WB_UI_VERBOSE ? 'pipe' : 'ignore',
    stderr: process.env.WB_UI_VERBOSE ? 'pipe' : 'ignore'
  }
};
