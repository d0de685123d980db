/** etcd's AlarmType. */
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

/** etcd's AlarmRequest.AlarmAction. */
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;

export interface AlarmMember {
  memberID: bigint;
  alarm: AlarmType;
}

const NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

/**
 * The cluster's raised alarms, applied from the log on every member (so all agree), as etcd's
 * alarm store: one entry per member and type. Persisted as one named value with the applied state.
 */
export class Alarms {
  private readonly raised = new Map<string, AlarmMember>();

  /** Raises an alarm; returns it when it was not raised already. */
  activate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    const key = `${memberID}/${alarm}`;
    if (this.raised.has(key)) return undefined;
    const a = { memberID, alarm };
    this.raised.set(key, a);
    return a;
  }

  /** Clears an alarm; returns it when it was raised. */
  deactivate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    const key = `${memberID}/${alarm}`;
    const a = this.raised.get(key);
    this.raised.delete(key);
    return a;
  }

  /** Raised alarms, by member then type; NONE (etcd's "all") lists every type. */
  list(alarm: AlarmType = AlarmType.NONE): AlarmMember[] {
    return [...this.raised.values()]
      .filter((a) => alarm === AlarmType.NONE || a.alarm === alarm)
      .sort((a, b) => (a.memberID < b.memberID ? -1 : a.memberID > b.memberID ? 1 : a.alarm - b.alarm));
  }

  has(alarm: AlarmType): boolean {
    for (const a of this.raised.values()) if (a.alarm === alarm) return true;
    return false;
  }

  /** etcd's status "errors": one line per raised alarm. */
  describe(): string[] {
    return this.list().map((a) => `memberID:${a.memberID} alarm:${NAMES[a.alarm] ?? a.alarm} `);
  }

  toJSON(): string {
    return JSON.stringify(this.list().map((a) => [a.memberID.toString(), a.alarm]));
  }

  load(json: string | undefined): void {
    this.raised.clear();
    for (const [id, alarm] of JSON.parse(json ?? '[]') as [string, AlarmType][]) this.activate(BigInt(id), alarm);
  }
}
