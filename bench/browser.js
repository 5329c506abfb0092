// Headless Debian chromium through playwright-core from ui-tests/, as the bench scripts
// (lab_browser.js, lab_nbdime_browser.js) launch it.
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'ui-tests', 'node_modules', 'playwright-core'));

function launch() {
  return chromium.launch({
    executablePath: process.env.WB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync']
  });
}

module.exports = { launch };
