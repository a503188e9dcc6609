// The app store: one zustand store made of slices. Components read it with selectors
// (useApp((s) => s.x)); the API listeners (listeners.ts) change it only through actions.
import { create } from 'zustand';
import { createChatSlice } from './chatSlice';
import { createConversationsSlice } from './conversationsSlice';
import { createInspectorSlice } from './inspectorSlice';
import { createLabSlice } from './labSlice';
import { createModelSlice } from './modelSlice';
import { createStudioSlice } from './studioSlice';
import type { AppState } from './types';
import { createUiSlice } from './uiSlice';

export const useApp = create<AppState>()((...a) => ({
  ...createUiSlice(...a),
  ...createConversationsSlice(...a),
  ...createChatSlice(...a),
  ...createModelSlice(...a),
  ...createInspectorSlice(...a),
  ...createStudioSlice(...a),
  ...createLabSlice(...a),
}));

export type { AppState } from './types';
