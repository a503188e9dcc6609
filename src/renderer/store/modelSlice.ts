// The loaded model, the models a user may pick (the main process keeps which were used lately:
// `recent` on each), and load progress.
import type { ModelInfo } from '@shared/engineTypes';
import { call, errorText } from '../lib/client';
import type { ModelSlice, Slice } from './types';

export const createModelSlice: Slice<ModelSlice> = (set, get) => {
  const loaded = (info: ModelInfo) => {
    set({
      current: info,
      modelLoad: null,
      models: get().models.map((m) => ({ ...m, loaded: m.path === info.path })),
    });
    call('models:current', {})
      .then((c) => c && set({ modelDefaults: c.defaults }))
      .catch(() => undefined);
  };

  return {
    models: [],
    current: null,
    modelDefaults: null,
    modelLoad: null,

    async refreshModels() {
      try {
        const [models, current] = await Promise.all([call('models:list', {}), call('models:current', {})]);
        set({ models, current: current?.info ?? get().current, modelDefaults: current?.defaults ?? get().modelDefaults });
      } catch (e) {
        get().pushError(`Could not list models: ${errorText(e)}`, null);
      }
    },

    async loadModel(path) {
      if (get().current?.path === path && !get().modelLoad) return;
      set({ modelLoad: { path, fraction: 0, message: 'starting' } });
      try {
        loaded(await call('models:load', { path }));
        void get().refreshModels(); // the picked model is now the most recent one
      } catch (e) {
        set({ modelLoad: null });
        get().pushError(`Could not load the model: ${errorText(e)}`, null);
        void get().refreshModels();
      }
    },

    applyModelEvent(e) {
      switch (e.type) {
        case 'progress':
          set({ modelLoad: { path: e.path, fraction: Math.max(0, Math.min(1, e.fraction)), message: e.message } });
          break;
        case 'loaded':
          loaded(e.info);
          break;
        case 'error':
          set({ modelLoad: null });
          get().pushError(e.message, null);
          break;
      }
    },
  };
};
