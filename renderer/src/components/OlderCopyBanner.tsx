// Shown while the unlocked vault file is an older copy of itself (the last state this device saw
// was newer): what it means in plain words, what to do, and the change counts behind Details.
import type { AppStatusValue } from '../../../common/ipc/contract.js';
import { useApp } from '../store.js';

type OlderCopy = NonNullable<AppStatusValue['olderCopy']>;

export function OlderCopyBanner({ olderCopy }: { olderCopy: OlderCopy }) {
  const go = useApp((s) => s.go);
  return (
    <section className="banner danger" role="alert" aria-labelledby="older-copy-title">
      <h2 id="older-copy-title">This vault is an older copy</h2>
      <p>
        The vault file on this computer is older than the one Trove last opened here: an older copy of the file was put in its place (by a sync or backup
        tool, a copy from another disk, or someone with access to this computer). Recent changes, deletions included, are missing from it.
      </p>
      <p>
        You can still look at your data, but Trove will not save anything to this copy. Restore your latest backup to get your recent changes back.
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => go({ screen: 'settings' })}>
          Go to backups
        </button>
      </div>
      <details className="details">
        <summary>Details</summary>
        <p>
          The file holds change #{olderCopy.foundChange}; Trove saw change #{olderCopy.seenChange} of this vault on this device. This record is kept outside the
          vault file, so the older copy cannot hide it.
        </p>
      </details>
    </section>
  );
}
