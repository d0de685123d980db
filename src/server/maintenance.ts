import { AlarmAction, type AlarmMember, type Alarms, type AlarmType } from './alarms.ts';
import type { Proposals } from './proposals.ts';
import type { Quota } from './quota.ts';
import type { ReadBarrier } from './read-barrier.ts';

export interface MaintenanceOptions {
  alarms: Alarms;
  proposals: Proposals;
  reads: ReadBarrier;
  quota?: Quota;
  databaseSize(): Promise<number>;
}

/** etcd's Maintenance service, as far as the member answers it: alarms and the database's size. */
export class Maintenance {
  constructor(private readonly o: MaintenanceOptions) {}

  /**
   * etcd's Alarm: GET lists the raised alarms (of one type, or all with NONE) as of a linearizable
   * read; ACTIVATE and DEACTIVATE go through the log, so every member agrees.
   */
  async alarm(action: number, memberID: bigint, alarm: AlarmType): Promise<AlarmMember[]> {
    if (action === AlarmAction.GET) {
      await this.o.reads.wait();
      return this.o.alarms.list(alarm);
    }
    const { resp } = await this.o.proposals.propose<{ alarms: AlarmMember[] }>({ alarm: { action, memberID, alarm } });
    // Space may have been freed before the alarm was cleared: measure again before the next write.
    if (action === AlarmAction.DEACTIVATE) await this.o.quota?.refresh();
    return resp.alarms;
  }

  /** The raised alarms as this member has applied them (status "errors", /health). */
  raised(): AlarmMember[] {
    return this.o.alarms.list();
  }

  /** etcd's status "errors": one line per raised alarm. */
  errors(): string[] {
    return this.o.alarms.describe();
  }

  databaseSize(): Promise<number> {
    return this.o.databaseSize();
  }

  get quotaBytes(): number | undefined {
    return this.o.quota?.bytes;
  }
}
