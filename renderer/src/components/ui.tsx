// Small building blocks shared by the screens.
import { Fragment, useEffect, useId, useRef, type ReactNode } from 'react';

/** A screen's heading: takes focus when the screen opens, so keyboard and screen-reader users land on it. */
export function ScreenTitle({ children, sub, focus = true }: { children: ReactNode; sub?: ReactNode; focus?: boolean }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focus) ref.current?.focus();
  }, [focus]);
  return (
    <header className="screen-title">
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
      {sub ? <p className="lead">{sub}</p> : null}
    </header>
  );
}

export function ErrorMessage({ error, id }: { error: string | null; id?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" id={id}>
      {error}
    </p>
  );
}

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  // Several dialogs can be on one screen (a withdraw button per token): each names itself.
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onCancel={(e) => { e.preventDefault(); props.onCancel(); }}>
      <h2 id={titleId}>{props.title}</h2>
      <div className="dialog-body">{props.children}</div>
      <div className="actions">
        <button type="button" onClick={props.onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className={props.danger ? 'danger' : 'primary'} onClick={props.onConfirm} disabled={props.busy}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A progress bar with its numbers in words. */
export function Progress({ value, max, label }: { value: number; max: number | null; label: string }) {
  return (
    <div className="progress-wrap">
      <progress value={max ? value : undefined} max={max ?? undefined} aria-label={label} />
      <p className="muted">{label}</p>
    </div>
  );
}

/** Drop zone + file chooser: one keyboard-reachable button, and the whole area accepts a drop. */
export function FilePicker(props: { label: string; accept?: string; onFile: (file: File) => void; disabled?: boolean; hint?: string; testId?: string }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <div
      className="dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        e.currentTarget.classList.add('over');
      }}
      onDragLeave={(e) => e.currentTarget.classList.remove('over')}
      onDrop={(e) => {
        e.preventDefault();
        e.currentTarget.classList.remove('over');
        const f = e.dataTransfer.files[0];
        if (f && !props.disabled) props.onFile(f);
      }}
    >
      <p>{props.hint ?? 'Drop a file here, or'}</p>
      <button type="button" className="primary" onClick={() => input.current?.click()} disabled={props.disabled}>
        {props.label}
      </button>
      <input
        ref={input}
        type="file"
        hidden
        accept={props.accept}
        data-testid={props.testId}
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) props.onFile(f);
        }}
      />
    </div>
  );
}

/** A file path that wraps only after a folder separator, never inside a name, when it must wrap. */
export function PathText({ path }: { path: string | undefined }) {
  const parts = (path ?? '').split(/(?<=[/\\])/);
  return (
    <code className="path">
      {parts.map((part, i) => (
        <Fragment key={i}>
          {part}
          {i < parts.length - 1 ? <wbr /> : null}
        </Fragment>
      ))}
    </code>
  );
}
