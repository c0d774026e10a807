/** The extension's settings (schema/plugin.json): their defaults, and keeping them current. */

import type { ISettingRegistry } from '@jupyterlab/settingregistry';

export interface ISettings {
  gpuRefreshSeconds: number;
  defaultLogStream: 'output' | 'stdout' | 'stderr';
  confirmBeforeDelete: boolean;
  /** A notification when a run this user started ends while JupyterLab is open. */
  notifyRunEnds: boolean;
}

export const DEFAULTS: ISettings = {
  gpuRefreshSeconds: 2,
  defaultLogStream: 'output',
  confirmBeforeDelete: true,
  notifyRunEnds: true
};

/**
 * Load the plugin's settings into ``settings`` (which holds the defaults until then) and call ``changed``
 * after the first load and after every change the user makes; a registry that fails leaves the defaults.
 */
export function followSettings(
  registry: ISettingRegistry,
  pluginId: string,
  settings: ISettings,
  changed: (settings: ISettings) => void
): void {
  void registry.load(pluginId).then(
    loaded => {
      const update = () => {
        Object.assign(settings, DEFAULTS, loaded.composite as Partial<ISettings>);
        changed(settings);
      };
      update();
      loaded.changed.connect(update);
    },
    err => console.warn('jupyter-trio: settings not loaded', err)
  );
}
