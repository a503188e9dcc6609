// The message box with its toolbar: mode and skip (the settings most often changed), the settings
// panel button, a context meter, and send / stop. Very long pastes are measured, not rendered into
// anything expensive, and a message that cannot fit the model's context is stopped here with a
// clear reason rather than sent to fail.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Icon } from '../components/Icon';
import type { ResponseOf } from '@shared/api';
import { call } from '../lib/client';
import { estimateTokens, fmtInt } from '../lib/format';
import { changedSettings, defaultChatSettings, effectiveSkip } from '@shared/settings';
import { ModeSelect, SkipInput } from '../settings/fields';
import { useApp } from '../store';
import { compareHold, runningCompareId } from '../store/studioSlice';

export const MAX_CHARS = 200_000;

export function Composer({ prefill, onPrefillUsed }: { prefill: string | null; onPrefillUsed(): void }) {
  const [text, setTextState] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  const send = useApp((s) => s.send);
  const stop = useApp((s) => s.stop);
  const conv = useApp((s) => s.conversations.find((c) => c.id === s.activeId) ?? null);
  const updateSettings = useApp((s) => s.updateSettings);
  const toggleSettings = useApp((s) => s.toggleSettings);
  const settingsOpen = useApp((s) => s.settingsOpen);
  const nLayer = useApp((s) => s.current?.nLayer ?? null);
  const nCtx = useApp((s) => s.current?.nCtx ?? null);
  const modelLoading = useApp((s) => !!s.modelLoad);
  const busy = useApp((s) => !!s.activeReply || !!s.sending);
  const compareId = useApp(runningCompareId);
  const comparing = useApp((s) => (compareId ? s.compares[compareId] : undefined)) ?? null;
  const cancelCompare = useApp((s) => s.cancelCompare);
  const modelDefaults = useApp((s) => s.modelDefaults);
  const setDraft = useApp((s) => s.setDraft);
  const convId = conv?.id ?? null;
  const compareWhy = useApp((s) => compareHold(s, 'Send', convId));

  // The unsent text belongs to its conversation: switching chats keeps it there and brings back theirs.
  useEffect(() => {
    setTextState(convId ? (useApp.getState().drafts[convId] ?? '') : '');
  }, [convId]);
  const setText = useCallback(
    (v: string) => {
      setTextState(v);
      if (convId) setDraft(convId, v);
    },
    [convId, setDraft],
  );

  // Esc stops the reply being generated (unless something else, like an enlarged chart, took the key).
  useEffect(() => {
    if (!busy) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('.insp-section.enlarged, .edit-input')) return;
      void stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy, stop]);

  useEffect(() => {
    if (prefill !== null) {
      setText(prefill);
      onPrefillUsed();
      ref.current?.focus();
    }
  }, [prefill, onPrefillUsed, setText]);

  // Grow with the text up to a cap; past it the box scrolls. Measuring is skipped for huge texts.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (text.length > 20_000) {
      el.style.height = '220px';
      return;
    }
    el.style.height = 'auto';
    el.style.height = `${Math.min(220, Math.max(44, el.scrollHeight))}px`;
  }, [text]);

  // The exact count, from the server: the same prompt plan chat:send makes (template, system prompt,
  // history, turns left out). Asked for once typing pauses; the estimate stands in until it answers.
  const [counted, setCounted] = useState<{ text: string; convId: string; r: ResponseOf<'chat:count'> } | null>(null);
  useEffect(() => {
    if (!convId || !text.trim() || text.length > MAX_CHARS) return;
    let live = true;
    const t = setTimeout(() => {
      call('chat:count', { conversationId: convId, content: text })
        .then((r) => live && setCounted({ text, convId, r }))
        .catch(() => undefined); // the estimate stays
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [text, convId]);
  const exact = counted && counted.text === text && counted.convId === convId && counted.r.nCtx !== null ? counted.r : null;

  const trimmed = text.trim();
  const tokens = exact?.promptTokens ?? estimateTokens(text);
  const tooLong = text.length > MAX_CHARS;
  const overContext = exact ? !exact.fits : nCtx !== null && tokens > nCtx * 1.25;
  const nearContext = nCtx !== null && !overContext && (exact ? exact.droppedTurns > 0 || tokens > nCtx * 0.8 : tokens > nCtx * 0.8);
  const canSend = trimmed.length > 0 && !busy && !compareWhy && !tooLong && !overContext && !modelLoading;

  const submit = async () => {
    if (!canSend) return;
    const content = text;
    const sentFrom = convId;
    setText('');
    const ok = await send(content);
    // A failed send gives the text back to its conversation's box (unless something new was typed).
    if (!ok && sentFrom && !useApp.getState().drafts[sentFrom]) {
      setDraft(sentFrom, content);
      if (useApp.getState().activeId === sentFrom) setTextState(content);
    }
  };

  // The M that runs: a skip ratio decides it when set (the shared rule), and the toolbar says so.
  const ratio = conv?.settings.skipRatio;
  const ratioM = conv && ratio !== undefined && nLayer ? effectiveSkip(conv.settings, nLayer) : null;
  const nChanged = conv ? changedSettings(conv.settings, defaultChatSettings(modelDefaults ?? undefined)).length : 0;

  let warning: string | null = null;
  if (tooLong) {
    warning = `This message is ${fmtInt(text.length)} characters; one message can hold at most ${fmtInt(MAX_CHARS)}.${nCtx ? ` It is also far longer than the model's context of ${fmtInt(nCtx)} tokens.` : ''}`;
  } else if (overContext) {
    warning = exact?.reason
      ? `Cannot be sent: ${exact.reason}.`
      : `About ${fmtInt(tokens)} tokens: more than this model's context of ${fmtInt(nCtx)} tokens, so it cannot be sent as one message. Shorten it or split it up.`;
  } else if (exact && exact.droppedTurns > 0) {
    warning = `${fmtInt(tokens)} prompt tokens: the ${exact.droppedTurns === 1 ? 'oldest turn' : `${exact.droppedTurns} oldest turns`} will be left out to fit the model's context of ${fmtInt(nCtx)}.`;
  } else if (nearContext) {
    warning = `About ${fmtInt(tokens)} tokens, close to the model's context of ${fmtInt(nCtx)}: the reply may be cut short, and older turns will be left out.`;
  }

  return (
    <div className="composer">
      {warning && (
        <div className={`context-warning ${tooLong || overContext ? 'bad' : ''}`} data-testid="context-warning" role="status">
          <Icon name="alert" size={14} /> {warning}
        </div>
      )}
      {compareWhy && (
        <div className="context-warning compare-blocks" data-testid="compare-blocks-send" role="status">
          <Icon name="alert" size={14} /> <span>{compareWhy}</span>
          {compareId && comparing?.jobId && (
            <button className="btn tiny ghost" data-testid="compare-blocks-cancel" onClick={() => void cancelCompare(compareId)}>
              Cancel the comparison
            </button>
          )}
        </div>
      )}
      <div className="composer-box">
        <textarea
          ref={ref}
          data-testid="chat-input"
          aria-label="Message"
          placeholder={modelLoading ? 'Loading the model…' : 'Message the model  (Enter to send, Shift+Enter for a new line)'}
          value={text}
          rows={1}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              void submit();
            }
          }}
        />
        <div className="composer-bar">
          {conv && (
            <>
              <label className="bar-field" title="Decoding mode">
                <span>Mode</span>
                <ModeSelect value={conv.settings.mode} onChange={(mode) => void updateSettings(conv.id, { mode })} />
              </label>
              <label
                className={`bar-field ${conv.settings.mode === 'ar' ? 'disabled' : ''}`}
                title={ratioM !== null ? `M = ${ratioM}: set by the skip ratio ${ratio} in Settings, which wins over Skip` : 'Layers skipped while drafting: auto or a count'}
              >
                <span>Skip</span>
                <SkipInput
                  value={conv.settings.skip}
                  nLayer={nLayer}
                  disabled={conv.settings.mode === 'ar' || ratioM !== null}
                  shown={ratioM !== null ? String(ratioM) : undefined}
                  onCommit={(skip) => void updateSettings(conv.id, { skip })}
                />
                {ratioM !== null && <span className="bar-note">ratio {ratio}</span>}
              </label>
              <button
                className={`btn tiny ghost ${settingsOpen ? 'on' : ''}`}
                data-testid="settings-toggle"
                data-changed={nChanged}
                aria-expanded={settingsOpen}
                title={nChanged ? `${nChanged} setting${nChanged > 1 ? 's' : ''} changed from the defaults` : 'All settings at their defaults'}
                onClick={() => toggleSettings()}
              >
                <Icon name="settings" size={14} /> Settings
                {nChanged > 0 && <span className="changed-dot" aria-label={`${nChanged} changed from the defaults`} />}
              </button>
            </>
          )}
          <span className="spacer" />
          {nCtx !== null && text.length > 0 && (
            <span
              className={`ctx-meter ${overContext || tooLong ? 'bad' : nearContext ? 'warn' : ''}`}
              data-testid="context-meter"
              data-exact={exact ? 'yes' : 'no'}
              data-tokens={exact?.promptTokens ?? undefined}
              data-fits={exact ? (exact.fits ? 'yes' : 'no') : undefined}
              title={exact ? "The prompt this message makes (chat template, system prompt and history, as the server counts it) / the model's context" : "Estimated tokens in this message / the model's context (the exact count follows)"}
            >
              {exact ? (exact.fits ? fmtInt(tokens) : 'too long') : `≈${fmtInt(tokens)}`} / {fmtInt(nCtx)}
            </span>
          )}
          {busy && (
            <button className="btn stop" data-testid="stop" onClick={() => void stop()} title="Stop generating (Esc)">
              <Icon name="stop" size={14} /> Stop
            </button>
          )}
          <button className="btn primary send" data-testid="send" disabled={!canSend} onClick={() => void submit()} title={busy ? 'A reply is being generated' : (compareWhy ?? 'Send (Enter)')}>
            <Icon name="send" size={14} /> Send
          </button>
        </div>
      </div>
    </div>
  );
}
