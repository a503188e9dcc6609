// Failures, shown where the user is looking: the newest on top, each dismissable. A conversation's
// failures show only in that conversation; app-wide ones (a model, the list) everywhere.
import { Icon } from '../components/Icon';
import { useApp } from '../store';

export function ErrorBanner() {
  const all = useApp((s) => s.errors);
  const active = useApp((s) => s.activeId);
  const errors = all.filter((e) => e.conversationId === null || e.conversationId === active);
  const dismiss = useApp((s) => s.dismissError);
  if (errors.length === 0) return null;
  const last = errors[errors.length - 1];
  return (
    <div className="error-banner" data-testid="error-banner" role="alert">
      <Icon name="alert" size={18} />
      <div className="error-text">
        <span data-testid="error-text">{last.text}</span>
        {errors.length > 1 && <span className="error-more"> (+{errors.length - 1} earlier)</span>}
      </div>
      <button className="icon-btn" aria-label="Dismiss" data-testid="error-dismiss" onClick={() => dismiss()}>
        <Icon name="close" size={14} />
      </button>
    </div>
  );
}
