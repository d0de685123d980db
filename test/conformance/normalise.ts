// What may differ between two clusters answering the same conformance case.
//
// Always: the values of "cluster_id", "member_id" and "raft_term" (they appear only inside a
// response's "header" object; keys and values are base64, so these quoted names cannot occur
// inside data). Everything else is compared byte for byte, except what a case asks for:
//  - mask: fields whose values depend on time or on the store's size (a lease's remaining TTL,
//    dbSize, raft indexes): their presence and place are still compared;
//  - members: answers that list members name random ids and the ports the member was given;
//    those are replaced by their role (<self>, <added>, <peer-port>, <client-port>; alarms' memberID
//    and status's "memberID:ID alarm:X" errors too), and a member
//    list, which etcd sorts by id, is compared as a set;
//  - anyMember (the cluster suite): every member id and loopback port is masked, member lists
//    compared as sets (the members' names tell them apart).
//
// Recording the suite twice against two fresh etcd 3.4.23 clusters gives identical text once these
// are replaced. In particular Go's JSON error texts ("invalid character 'x' looking for beginning
// of value", "unexpected EOF", "json: cannot unmarshal ... into Go value of type ...") and
// "grpc: received message larger than max (N vs. 2097152)" (N = the protobuf size of the request)
// are deterministic and must be reproduced exactly.
// The one non-deterministic answer found (a txn RequestOp with two kinds set) is not a case.

/** Run-time values a case's requests and answers name (see Case in cases.ts). */
export interface RunVars {
  SELF?: string;
  ADDED?: string;
  PEER_URL?: string;
  CLIENT_URL?: string;
  /** In the cluster suite: the id of the member a request is sent to as 'follower'. */
  FOLLOWER?: string;
  /** The lease (decimal), key (base64) and, for a campaign, rev the last lock or campaign answered. */
  LEASE?: string;
  KEY?: string;
  REV?: string;
}

export interface NormaliseOptions {
  mask?: string[];
  members?: boolean;
  anyMember?: boolean;
  vars?: RunVars;
}

const portOf = (url: string | undefined) => (url ? new URL(url).port : undefined);

export function normaliseBody(text: string, o: NormaliseOptions = {}): string {
  let t = text.replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<$1>"');
  for (const f of o.mask ?? []) t = t.replace(new RegExp(`"${f}":("[^"]*"|-?\\d+)`, 'g'), `"${f}":"<${f}>"`);
  if (o.anyMember) {
    t = t.replace(/"(ID|leader|memberID)":"\d+"/g, '"$1":"<id>"').replace(/memberID:\d+ /g, 'memberID:<id> ').replace(/127\.0\.0\.1:\d+"/g, '127.0.0.1:<port>"');
    return sortMembers(t);
  }
  if (!o.members) return t;
  const v = o.vars ?? {};
  for (const [role, id] of [['self', v.SELF], ['added', v.ADDED]] as const) {
    if (id) t = t.replace(new RegExp(`"(ID|leader|memberID)":"${id}"`, 'g'), `"$1":"<${role}>"`).split(`memberID:${id} `).join(`memberID:<${role}> `);
  }
  for (const [role, port] of [['peer-port', portOf(v.PEER_URL)], ['client-port', portOf(v.CLIENT_URL)]] as const) {
    if (port) t = t.split(`127.0.0.1:${port}"`).join(`127.0.0.1:<${role}>"`);
  }
  return sortMembers(t);
}

function sortMembers(t: string): string {
  if (!t.includes('"members":[')) return t;
  const body = JSON.parse(t) as { members?: unknown[] };
  body.members = body.members?.map((m) => JSON.stringify(m)).sort().map((m) => JSON.parse(m));
  return JSON.stringify(body);
}
