import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';

/**
 * A modal dialog (the native <dialog>: focus moves in, Escape closes, focus returns to the opener)
 * with a required reason. `submit` answers an error message to show, or nothing when done.
 */
export function ActionDialog({
  title,
  open,
  onClose,
  submit,
  children,
  field = { name: 'reason', label: 'Reason' },
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  submit: (fields: FormData) => Promise<string | undefined>;
  children?: ReactNode;
  /** The required text: a reason (order actions) or a note (a difference's resolution). */
  field?: { name: string; label: string };
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setError(undefined);
      dialog.showModal();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    const message = await submit(new FormData(event.currentTarget));
    setBusy(false);
    if (message) setError(message);
    else onClose();
  }

  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="dialog-title">
      <form onSubmit={onSubmit}>
        <h2 id="dialog-title">{title}</h2>
        {children}
        <label>
          {field.label}
          <textarea name={field.name} required maxLength={1000} rows={3} />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {title}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
