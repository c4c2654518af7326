import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../kube/client.ts';
import {
  canSteal, LeaderElection, metaTime, nextRecord, shouldLead,
  type Candidate, type ElectionLock, type LeaderElectionRecord, type LockState,
} from './leaderelection.ts';
import { ManualClock } from '../testing/manual-clock.ts';

const me = (over: Partial<Candidate> = {}): Candidate => ({ identity: 'istiod-a', revision: 'default', remote: false, defaultRevision: 'default', ...over });

test('shouldLead: own cluster always; a remote cluster only with EXTERNAL_ISTIOD and an annotation naming us or *', () => {
  const ann = (v: string) => ({ 'topology.istio.io/controlPlaneClusters': v });
  assert.equal(shouldLead(undefined, 'cluster1', false, true), true);
  assert.equal(shouldLead(ann('cluster1'), 'cluster1', false), false, 'no EXTERNAL_ISTIOD');
  assert.equal(shouldLead(ann('cluster1'), 'cluster1', true), true);
  assert.equal(shouldLead(ann('other, cluster1'), 'cluster1', true), true);
  assert.equal(shouldLead(ann('*'), 'cluster1', true), true);
  assert.equal(shouldLead(ann('cluster10'), 'cluster1', true), false);
  assert.equal(shouldLead({}, 'cluster1', true), false);
  assert.equal(shouldLead(ann(''), '', true), false);
});

test('priority: the default revision steals from another; a local candidate steals from a remote one of its revision', () => {
  assert.equal(canSteal(me(), '^default'), true);
  assert.equal(canSteal(me({ remote: true }), 'default'), false);
  assert.equal(canSteal(me({ remote: true }), '^default'), false);
  assert.equal(canSteal(me(), 'canary'), true);
  assert.equal(canSteal(me({ revision: 'canary' }), 'default'), false);
  assert.equal(canSteal(me({ revision: 'canary' }), '^canary'), true);
});

test('nextRecord follows client-go: keep acquireTime when renewing, count transitions when taking over', () => {
  const t = 1_700_000_000_500;
  const fresh = nextRecord(me({ remote: true }), undefined, false, t, 30);
  assert.deepEqual(fresh, { holderIdentity: 'istiod-a', holderKey: '^default', leaseDurationSeconds: 30, acquireTime: metaTime(t), renewTime: metaTime(t), leaderTransitions: 0 });
  assert.match(metaTime(t), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const held: LeaderElectionRecord = { holderIdentity: 'istiod-b', holderKey: 'default', leaseDurationSeconds: 30, acquireTime: 'x', renewTime: 'y', leaderTransitions: 3 };
  assert.equal(nextRecord(me(), held, true, t, 30), undefined, 'a valid lease of the same priority is respected');
  assert.equal(nextRecord(me(), held, false, t, 30)?.leaderTransitions, 4);
  assert.equal(nextRecord(me(), { ...held, holderIdentity: '' }, true, t, 30)?.holderIdentity, 'istiod-a', 'a released lock is free');
  const renewed = nextRecord(me(), { ...held, holderIdentity: 'istiod-a', acquireTime: 'then' }, true, t + 1000, 30);
  assert.equal(renewed?.acquireTime, 'then');
  assert.equal(renewed.leaderTransitions, 3);
});

/** An in-memory lock with resourceVersion conflicts, shared by candidates; `down` makes every call fail. */
class MemoryLock implements ElectionLock {
  readonly description = 'memory';
  raw: string | undefined;
  rv = 0;
  down = false;

  get(): Promise<LockState | undefined> {
    if (this.down) return Promise.reject(new Error('unreachable'));
    if (this.raw === undefined) return Promise.resolve(undefined);
    return Promise.resolve({ record: JSON.parse(this.raw) as LeaderElectionRecord, raw: this.raw, resourceVersion: String(this.rv) });
  }

  create(record: LeaderElectionRecord): Promise<void> {
    if (this.down) return Promise.reject(new Error('unreachable'));
    if (this.raw !== undefined) return Promise.reject(new KubeApiError('POST', '/x', 409, '{}'));
    this.raw = JSON.stringify(record);
    this.rv++;
    return Promise.resolve();
  }

  update(record: LeaderElectionRecord, prev: LockState): Promise<void> {
    if (this.down) return Promise.reject(new Error('unreachable'));
    if (prev.resourceVersion !== String(this.rv)) return Promise.reject(new KubeApiError('PUT', '/x', 409, '{}'));
    this.raw = JSON.stringify(record);
    this.rv++;
    return Promise.resolve();
  }

  holder(): string | undefined {
    return this.raw === undefined ? undefined : (JSON.parse(this.raw) as LeaderElectionRecord).holderIdentity;
  }
}

function candidate(lock: ElectionLock, clock: ManualClock, identity: string, remote: boolean, events: string[]): LeaderElection {
  return new LeaderElection({
    lock, identity, remote, clock, random: () => 0, leaseDurationMs: 30_000,
    onStartedLeading: () => { events.push(`${identity}+`); },
    onStoppedLeading: () => { events.push(`${identity}-`); },
  });
}

test('one leader at a time; a crashed leader is replaced after the lease, a released one at once', async () => {
  const lock = new MemoryLock();
  const clock = new ManualClock();
  const events: string[] = [];
  const a = candidate(lock, clock, 'a', true, events);
  const b = candidate(lock, clock, 'b', true, events);
  a.start();
  await clock.advance(0);
  b.start();
  await clock.advance(20_000);
  assert.deepEqual(events, ['a+']);
  assert.equal(lock.holder(), 'a');

  await a.stop({ release: false }); // crash: the record stays until it expires
  assert.deepEqual(events, ['a+', 'a-']);
  await clock.advance(20_000);
  assert.equal(b.isLeader(), false, 'the lease (30 s from the last observed renewal) has not expired yet');
  await clock.advance(20_000);
  assert.equal(b.isLeader(), true);
  assert.equal((JSON.parse(lock.raw ?? '{}') as LeaderElectionRecord).leaderTransitions, 1);

  const c = candidate(lock, clock, 'c', true, events);
  c.start();
  await clock.advance(10_000);
  await b.stop();
  assert.equal(lock.holder(), '', 'released on stop');
  await clock.advance(8_000);
  assert.equal(c.isLeader(), true, 'a released lock is taken at the next retry');
  await c.stop();
});

test('a leader that cannot renew for the renew deadline steps down; a local candidate takes over from a remote leader', async () => {
  const lock = new MemoryLock();
  const clock = new ManualClock();
  const events: string[] = [];
  const remote = candidate(lock, clock, 'remote', true, events);
  remote.start();
  await clock.advance(1);
  assert.equal(remote.isLeader(), true);
  lock.down = true;
  await clock.advance(14_000);
  assert.equal(remote.isLeader(), true, 'still within the 15 s renew deadline');
  await clock.advance(2_000);
  assert.equal(remote.isLeader(), false);
  lock.down = false;
  await clock.advance(8_000);
  assert.equal(remote.isLeader(), true, 'leads again once the lock is reachable');

  const local = candidate(lock, clock, 'local', false, events);
  local.start();
  await clock.advance(10_000);
  assert.equal(local.isLeader(), true, 'the local candidate steals a valid lock held under ^default');
  assert.equal(remote.isLeader(), false, 'the remote leader sees another holder and steps down at once');
  assert.equal((JSON.parse(lock.raw ?? '{}') as LeaderElectionRecord).holderKey, 'default');
  await Promise.all([local.stop(), remote.stop()]);
});

test('with election disabled the candidate leads at once and touches no lock', async () => {
  const lock = new MemoryLock();
  const events: string[] = [];
  const e = new LeaderElection({ lock, identity: 'x', remote: false, enabled: false, onStartedLeading: () => { events.push('+'); }, onStoppedLeading: () => { events.push('-'); } });
  e.start();
  assert.equal(e.isLeader(), true);
  await e.stop();
  assert.deepEqual(events, ['+', '-']);
  assert.equal(lock.raw, undefined);
});

/** A lock whose server stops answering when `frozen`: calls hang until their signal aborts them. */
class FreezableLock extends MemoryLock {
  frozen = false;
  hung = 0;

  #hang<T>(signal: AbortSignal | undefined, answer: () => Promise<T>): Promise<T> {
    if (!this.frozen) return answer();
    this.hung++;
    return new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => { reject(new Error('aborted')); }, { once: true });
    });
  }

  override get(signal?: AbortSignal): Promise<LockState | undefined> {
    return this.#hang(signal, () => super.get());
  }

  override update(record: LeaderElectionRecord, prev: LockState, signal?: AbortSignal): Promise<void> {
    return this.#hang(signal, () => super.update(record, prev));
  }
}

test('stop is bounded when the lock\'s server hangs: the call in flight is aborted, the release gives up', async () => {
  const lock = new FreezableLock();
  const clock = new ManualClock();
  const events: string[] = [];
  const e = new LeaderElection({
    lock, identity: 'a', remote: false, clock, random: () => 0, leaseDurationMs: 30_000, releaseTimeoutMs: 200,
    onStartedLeading: () => { events.push('+'); }, onStoppedLeading: () => { events.push('-'); },
  });
  e.start();
  await clock.advance(1);
  assert.equal(e.isLeader(), true);
  lock.frozen = true;
  await clock.advance(7_500); // the renewal is now in flight, and hangs
  assert.equal(lock.hung, 1);
  const t0 = Date.now();
  // AbortSignal.timeout does not keep the event loop alive; a process being stopped has other work.
  const keepAlive = setInterval(() => undefined, 1_000);
  await e.stop();
  clearInterval(keepAlive);
  const ms = Date.now() - t0;
  console.log(`stop with the lock's server hanging: ${ms} ms (release timeout 200 ms)`);
  assert.ok(ms < 3_000, `stop took ${ms} ms`);
  assert.equal(lock.hung, 2, 'the release tried once, then gave up');
  assert.deepEqual(events, ['+', '-']);
});
