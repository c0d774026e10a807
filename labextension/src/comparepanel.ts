/**
 * Small DOM pieces of the compare view: a section with a title, a labelled control, and a picker (a
 * disclosure of grouped checkboxes) for columns and axes.
 */

/** An element with a class (and text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A titled section of the view. */
export function section(title: string, className: string, ...body: HTMLElement[]): HTMLElement {
  const node = el('section', `jp-trio-compare-section ${className}`);
  node.append(el('h3', '', title), ...body);
  return node;
}

/** ``control`` with its label in front. */
export function labelled(text: string, control: HTMLElement, className = ''): HTMLLabelElement {
  const node = el('label', className);
  node.append(`${text} `, control);
  return node;
}

/** A checkbox with its label after it. */
export function checkbox(
  text: string,
  checked: boolean,
  onChange: (on: boolean) => void,
  className = ''
): HTMLLabelElement {
  const node = el('label', `jp-trio-check ${className}`.trim());
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = checked;
  box.onchange = () => onChange(box.checked);
  node.append(box, ` ${text}`);
  return node;
}

export interface IPickerGroup {
  title: string;
  names: string[];
}

/**
 * A disclosure (``<details>``) listing names by group, each with a checkbox: what the columns and the axes
 * pickers are. ``fill`` writes its list again.
 */
export class Picker {
  readonly node: HTMLDetailsElement;
  private readonly _list: HTMLDivElement;

  constructor(summary: string, className: string) {
    this.node = el('details', `jp-trio-picker ${className}`);
    const head = el('summary', 'jp-mod-styled', summary);
    this._list = el('div', 'jp-trio-picker-list');
    this.node.append(head, this._list);
  }

  fill(groups: IPickerGroup[], chosen: Set<string>, onToggle: (name: string, on: boolean) => void): void {
    const items: HTMLElement[] = [];
    for (const group of groups) {
      if (!group.names.length) {
        continue;
      }
      const fieldset = el('fieldset', 'jp-trio-picker-group');
      fieldset.append(el('legend', '', group.title));
      for (const name of group.names) {
        const item = checkbox(name, chosen.has(name), on => onToggle(name, on));
        item.dataset.name = name;
        fieldset.append(item);
      }
      items.push(fieldset);
    }
    this._list.replaceChildren(...items);
  }
}
