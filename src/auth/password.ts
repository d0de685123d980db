import bcrypt from 'bcryptjs';

/**
 * Passwords are bcrypt-hashed by the member that receives the request, before it proposes: the
 * raft log, the snapshots and the tables hold only hashes (etcd 3.4 hashed inside apply, so its
 * WAL carried the plaintext; 3.5 moved the hashing out as done here).
 *
 * bcryptjs is pure JS (no native build, runs on any runtime) and its async calls yield to the
 * event loop between rounds. Like Go's bcrypt in etcd 3.4, it uses only the first 72 bytes of the
 * UTF-8 password (real etcd 3.4.23 authenticates a user created with 80 characters given only the
 * first 72) and accepts an empty password.
 */

/** etcd's --bcrypt-cost: default 10, valid from 4 to 31 (Go's bcrypt.MinCost and MaxCost). */
export const BCRYPT_DEFAULT_COST = 10;
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 31;

/** etcd's NewAuthStore: a cost out of range falls back to the default (with a warning), it does not stop the member. */
export function bcryptCostOrDefault(cost: number | undefined): number {
  if (cost === undefined || !Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) return BCRYPT_DEFAULT_COST;
  return cost;
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) throw new RangeError(`bcrypt cost ${cost} is out of [${BCRYPT_MIN_COST}, ${BCRYPT_MAX_COST}]`);
  return bcrypt.hash(password, cost);
}

/** False for a wrong password and for anything that is not a bcrypt hash. */
export async function checkPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

/**
 * A well-formed hash that no password matches, at the given cost: compared against when the user
 * does not exist, so a missing user costs the same time as a wrong password and the answer's
 * timing does not tell whether the name exists. Built, not computed: making a real hash would
 * itself take a hash's time on the first failure.
 */
export function dummyHash(cost: number): string {
  return `$2b$${String(cost).padStart(2, '0')}$` + 'N9qo8uLOickgx2ZMRZoMye' + 'IjZAgcfl7p92ldGxad68LJZdL17lhWy';
}
