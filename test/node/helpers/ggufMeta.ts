// The GGUF metadata reader lives in src/services/ggufMeta.ts (model discovery uses it too).
export { readGgufMetadata, type GgufValue } from '../../../src/services/ggufMeta';
