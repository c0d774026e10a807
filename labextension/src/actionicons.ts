/**
 * The row actions' icons JupyterLab has no icon for (a chart, a pin, compare); the rest are JupyterLab's
 * own. ``jp-icon3`` paths take the theme's icon colour.
 */

import { LabIcon } from '@jupyterlab/ui-components';

const svg = (paths: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">${paths}</svg>`;

export const metricsIcon = new LabIcon({
  name: 'jupyter-trio:metrics',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M3 3h2v16h16v2H3V3zm4 12.6 4.3-4.3 3 3L19.6 9 21 10.4l-6.7 6.7-3-3-2.9 2.9L7 15.6z"/>'
  )
});

export const pinIcon = new LabIcon({
  name: 'jupyter-trio:pin',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M16 3v2h-1v5l2 3v2h-4v6l-1 1-1-1v-6H7v-2l2-3V5H8V3h8zm-3 2h-2v5.6L9.4 13h5.2L13 10.6V5z"/>'
  )
});

export const compareIcon = new LabIcon({
  name: 'jupyter-trio:compare',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M3 4h8v16H3V4zm2 2v12h4V6H5zm8-2h8v16h-8V4zm2 2v12h4V6h-4z"/>'
  )
});
