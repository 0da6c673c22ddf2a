// Which service call answers each channel. The router has already checked every request against
// the contract, so handlers receive typed, well-formed values.
import type { AppSession } from '../services/session/session.js';
import type { Handlers } from './router.js';

export function sessionHandlers(session: AppSession): Handlers {
  return {
    'app.status': () => session.status(),

    'vault.create': (r) => session.create(r.passphrase),
    'vault.unlock': (r) => session.unlock(r.passphrase, r.remember ?? false),
    'vault.lock': () => session.lock(),
    'vault.forgetDevice': () => session.forgetDevice(),
    'vault.changePassphrase': async (r) => {
      await session.changePassphrase(r.current, r.next);
      return {};
    },
    'vault.setAutoLock': (r) => session.setAutoLock(r.ms),
    'vault.backup': () => session.backup(),
    'vault.backups': () => session.listBackups(),
    'vault.restore': (r) => session.restore(r.file, r.passphrase),
    'vault.checkIntegrity': () => {
      const { ok, datasets, problems, activity } = session.checkIntegrity();
      return { ok, datasets, problems, activity };
    },

    'files.stagePath': (r) => session.files.stagePath(r.path),
    'files.beginUpload': (r) => session.files.beginUpload(r.name, r.size),
    'files.appendUpload': (r) => session.files.appendUpload(r.token, Buffer.from(r.chunk, 'base64')),
    'files.finishUpload': (r) => session.files.finishUpload(r.token),
    'files.discard': (r) => {
      session.files.discard(r.token);
      return {};
    },

    'datasets.list': () => session.listDatasets(),
    'datasets.get': (r) => session.dataset(r.id),
    'datasets.rows': (r) => session.rows(r.id, r.offset, r.limit),
    'datasets.summary': (r) => session.summarize(r.id),
    'datasets.delete': async (r) => {
      await session.deleteDataset(r.id);
      return {};
    },
    'datasets.deleteRecords': async (r) => ({ deleted: await session.deleteRecords(r.id, r.recordIds) }),
    'datasets.editValue': async (r) => ({ value: await session.editValue(r.id, r.recordId, r.column, r.value) }),
    'datasets.rename': (r) => session.renameDataset(r.id, r.name),
    'datasets.export': (r) => session.exportDataset(r.id, r.format),

    'import.preview': (r) => session.previewImport(r),
    'import.start': (r) => session.startImport(r),
    'import.rejected': (r) => session.rejectedRows(r.importId, r.offset, r.limit),
    'import.cancel': (r) => session.cancelImport(r.importId),

    'activity.list': (r) => session.activity(r.offset, r.limit, { ...(r.group ? { group: r.group } : {}), ...(r.text ? { text: r.text } : {}) }),
    'activity.verify': () => session.verifyActivity(),

    'jobs.list': () => session.jobsList(),
    'jobs.refresh': () => session.jobsRefresh(),
    'jobs.optIn': (r) => session.jobsOptIn(r.jobId, r.datasetId, r.columns),
    'jobs.optOut': (r) => session.jobsOptOut(r.jobId),
    'jobs.setRunPolicy': (r) => session.jobsSetRunPolicy(r.policy),
    'jobs.setUseGpu': (r) => session.jobsSetUseGpu(r.useGpu),
    'jobs.setLimits': (r) => session.jobsSetLimits(r.limits),
    'jobs.approveModule': (r) => session.jobsApproveModule(r.jobId, r.sha256),
    'jobs.setModuleTrust': (r) => session.jobsSetModuleTrust(r.sha256, r.trusted),
    'jobs.setReviewResults': (r) => session.jobsSetReviewResults(r.reviewResults),
    'jobs.reviews': () => session.jobsReviews(),
    'jobs.answerReview': (r) => session.jobsAnswerReview(r.id, r.send),

    'wallet.view': () => session.wallet.view(),
    'wallet.link': () => session.wallet.link(),
    'wallet.disconnect': () => session.wallet.disconnect(),
    'wallet.setSettings': (r) => session.wallet.setSettings(r),
    'wallet.prepareWithdraw': (r) => session.wallet.require().prepareWithdraw(r.token),
    'wallet.confirmWithdraw': async (r) => {
      const { txHash, plan } = await session.wallet.require().confirmWithdraw(r.planId);
      return { txHash, amountText: plan.amountText, to: plan.to };
    },
    'rewards.view': () => session.rewardsView(),
    'rewards.claim': (r) => session.rewardsClaim(r.recipient, r.jobId),
  };
}
