import { LabIcon } from '@jupyterlab/ui-components';

import trioSvg from '../style/icon.svg';

export const trioIcon = new LabIcon({ name: 'jupyter-trio:logo', svgstr: trioSvg });
