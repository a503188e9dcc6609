// What the inspector shows when there are no rounds to draw, with the reason.

export function EmptyInspector({ reason }: { reason: string }) {
  return (
    <div className="insp-empty" data-testid="inspector-empty">
      <div className="insp-empty-art" aria-hidden="true">
        {Array.from({ length: 48 }, (_, i) => (
          <span key={i} className={(i * 7) % 5 === 0 || (i * 3) % 11 === 0 ? 'on' : ''} />
        ))}
      </div>
      <p>{reason}</p>
    </div>
  );
}
