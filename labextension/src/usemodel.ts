/** A React hook that re-renders a view when the model changes, at most once per animation frame. */

import * as React from 'react';

import type { TrioModel } from './model';

/** The model's version, kept current: a burst of events renders once per frame. */
export function useModel(model: TrioModel): number {
  const [version, setVersion] = React.useState(model.version);
  React.useEffect(() => {
    let frame = 0;
    const unsubscribe = model.subscribe(() => {
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          setVersion(model.version);
        });
      }
    });
    return () => {
      unsubscribe();
      if (frame) {
        cancelAnimationFrame(frame);
      }
    };
  }, [model]);
  return version;
}
