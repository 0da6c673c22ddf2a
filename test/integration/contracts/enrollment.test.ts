// Enrollment authorized by the identity, on a real local chain with real depth-1 Semaphore proofs
// checked by the official verifier: no one can squat a contributor's commitment, pair it with
// another roster key, move its authorization to another job, or post a bond for it that it did not
// name; a roster key seen in the mempool cannot lock its owner out. Each refusal has its positive
// control: the identity's own proof, submitted by anyone it allows, enrolls.
import { Identity } from '@semaphore-protocol/identity';
import { ZeroAddress, hexlify, randomBytes, type Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollWithProof, proveEnrollment, type EnrollmentRef } from '../../fixtures/enrollment-proof.js';
import { expectRevert, mined, startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';

const key = (): string => hexlify(randomBytes(32));

describe('enrollment authorized by the identity itself', () => {
  let t: TroveChain;
  let usd: Contract;
  let ref: EnrollmentRef;
  let relayed: Contract;

  async function publish(bond: bigint): Promise<bigint> {
    const researcher = t.accounts.researcher;
    const registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, researcher);
    await mined(usd.connect(researcher).getFunction('approve')(await registry.getAddress(), 10n ** 12n));
    const block = await t.provider.getBlock('latest');
    const receipt = await mined(
      registry.getFunction('publish')({
        specHash: hexlify(randomBytes(32)),
        specURI: 'ipfs://job-spec',
        coordinator: await t.accounts.coordinator.getAddress(),
        rewardToken: await usd.getAddress(),
        rewardPerRound: 1000n,
        rounds: 1,
        minContributors: 1,
        deadline: BigInt(block!.timestamp) + 86_400n,
        bondAmount: bond,
      }),
    );
    const event = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'JobPublished');
    return event!.args.getValue('jobId') as bigint;
  }

  const proofArgs = (p: { nullifier: string; points: string[] }) => ({ nullifier: BigInt(p.nullifier), points: p.points.map(BigInt) });

  beforeAll(async () => {
    t = await startTroveChain();
    usd = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
    await mined(usd.connect(t.accounts.researcher).getFunction('mint')(await t.accounts.researcher.getAddress(), 10n ** 12n));
    ref = { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry };
    relayed = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.relayer);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('refuses a squatter of a commitment, and enrolls its identity through any relayer', async () => {
    const job = await publish(0n);
    const victim = new Identity('enrollment-victim');
    const squatter = new Identity('enrollment-squatter');
    const victimKey = key();
    const squatterKey = key();
    const squatters = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.bob);

    // the squatter's own identity cannot authorize someone else's commitment
    const own = proofArgs(await proveEnrollment(squatter, ref, job.toString(), squatterKey));
    const refused = await expectRevert(squatters, 'enroll', [job, victim.commitment, squatterKey, own], 'EnrollmentNotAuthorized');
    expect(refused.args[1]).toBe(victim.commitment);
    // the victim's proof, copied from the mempool, names the victim's roster key, not the squatter's
    const victims = proofArgs(await proveEnrollment(victim, ref, job.toString(), victimKey));
    await expectRevert(squatters, 'enroll', [job, victim.commitment, squatterKey, victims], 'EnrollmentNotAuthorized');
    // one public input changed (the nullifier) breaks the proof
    await expectRevert(squatters, 'enroll', [job, victim.commitment, victimKey, { ...victims, nullifier: victims.nullifier + 1n }], 'EnrollmentNotAuthorized');
    // a proof made for another job does not carry over
    const other = await publish(0n);
    const elsewhere = proofArgs(await proveEnrollment(victim, ref, other.toString(), victimKey));
    await expectRevert(squatters, 'enroll', [job, victim.commitment, victimKey, elsewhere], 'EnrollmentNotAuthorized');
    expect(await relayed.getFunction('enrollmentCount')(job)).toBe(0n);

    // positive control: the identity's own proof enrolls it, whoever submits it
    const receipt = await mined(relayed.getFunction('enroll')(job, victim.commitment, victimKey, victims, { gasLimit: 1_000_000n }));
    console.log(`enroll with a depth-1 identity proof, no bond: ${receipt.gasUsed} gas`);
    const entry = (await relayed.getFunction('enrollmentOf')(job, 0)) as { commitment: bigint; rosterKey: string };
    expect(entry.commitment).toBe(victim.commitment);
    expect(entry.rosterKey).toBe(victimKey);
    await expectRevert(squatters, 'enroll', [job, victim.commitment, victimKey, victims], 'AlreadyEnrolled');
  }, 120_000);

  it('refuses a bond posted for a commitment by anyone but the owner its identity named', async () => {
    const bond = 50n;
    const job = await publish(bond);
    const member = new Identity('enrollment-bonded');
    const rosterKey = key();
    const alice = await t.accounts.alice.getAddress();
    const bob = await t.accounts.bob.getAddress();
    for (const who of [t.accounts.alice, t.accounts.bob]) {
      await mined(usd.connect(who).getFunction('mint')(await who.getAddress(), bond));
      await mined(usd.connect(who).getFunction('approve')(t.deployment.contracts.RoundRewards, bond));
    }
    const forAlice = proofArgs(await proveEnrollment(member, ref, job.toString(), rosterKey, alice));
    const asBob = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.bob);
    const refused = await expectRevert(asBob, 'enroll', [job, member.commitment, rosterKey, forAlice], 'EnrollmentNotAuthorized');
    expect(refused.args[2]).toBe(bob);
    // an identity that asked for no bond cannot be bonded by a stranger either
    const unbonded = proofArgs(await proveEnrollment(member, ref, job.toString(), rosterKey, ZeroAddress));
    await expectRevert(asBob, 'enroll', [job, member.commitment, rosterKey, unbonded], 'EnrollmentNotAuthorized');
    expect(await usd.getFunction('balanceOf')(bob)).toBe(bond);

    // positive control: the owner the identity named posts the bond
    const receipt = await mined(enrollWithProof(t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.alice), ref, job, member, rosterKey, alice));
    console.log(`enroll with a depth-1 identity proof and a bond: ${receipt.gasUsed} gas`);
    const entry = (await relayed.getFunction('enrollmentOf')(job, 0)) as { bondOwner: string; bond: bigint };
    expect(entry.bondOwner).toBe(alice);
    expect(entry.bond).toBe(1n);
    expect(await usd.getFunction('balanceOf')(alice)).toBe(0n);
  }, 120_000);

  it('does not let a squatted roster key lock its owner out, and freezes it only once per roster', async () => {
    const job = await publish(0n);
    const victim = new Identity('roster-key-victim');
    const squatter = new Identity('roster-key-squatter');
    const victimKey = key();
    // the squatter front-runs with its own identity and the victim's key
    await mined(enrollWithProof(relayed, ref, job, squatter, victimKey));
    await mined(enrollWithProof(relayed, ref, job, victim, victimKey));
    const coordinator = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.coordinator);
    await expectRevert(coordinator, 'startRound', [job, [0, 1]], 'RosterKeyRepeated');
    // the coordinator freezes the entry whose identity signed for the key
    await mined(coordinator.getFunction('startRound')(job, [1]));
    expect(((await coordinator.getFunction('rosterOf')(job, 0)) as { size: bigint }).size).toBe(1n);
  }, 120_000);
});
