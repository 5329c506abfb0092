import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161"><path d="M3 5h18v3H3zM5 10h14v9H5zM9 12v2h6v-2z"/></g></svg>`;

export const workbenchIcon = new LabIcon({ name: 'workbench:icon', svgstr: svg });
