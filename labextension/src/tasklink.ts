/**
 * The link the server's run-end notifications (e-mail, Slack) carry: ``<server>/lab?trio-task=<name>``
 * opens JupyterLab on that task. Pure: reading the parameter, and the URL without it.
 */

/** The query parameter naming the task to show. */
export const TASK_PARAM = 'trio-task';

/** The longest name taken from a link (a task name is far shorter). */
const MAX_NAME = 200;

/** The task a page's query (``location.search``) names, or null. */
export function taskFromQuery(search: string): string | null {
  let name: string | null;
  try {
    name = new URLSearchParams(search).get(TASK_PARAM);
  } catch {
    return null;
  }
  name = (name ?? '').trim();
  return name && name.length <= MAX_NAME ? name : null;
}

/** ``href`` without the task parameter; every other parameter as it was written, and the fragment. */
export function withoutTaskParam(href: string): string {
  const url = new URL(href);
  const parts = url.search.slice(1).split('&');
  const kept = parts.filter(part => keyOf(part) !== TASK_PARAM);
  if (kept.length === parts.length) {
    return href;
  }
  url.search = kept.length ? `?${kept.join('&')}` : '';
  return url.toString();
}

function keyOf(part: string): string {
  const key = part.split('=')[0].replace(/\+/g, ' ');
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}
