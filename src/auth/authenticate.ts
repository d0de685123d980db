import type { AuthStore } from './auth-store.ts';
import { AuthErrors } from './errors.ts';
import { checkPassword, dummyHash } from './password.ts';

/**
 * The password check that precedes an authenticate proposal (etcd's CheckPassword), on the member
 * that received the request, after a linearizable read barrier. Returns the auth revision the
 * password was checked at: if the authenticate entry applies at another revision (the password
 * may have changed in between), the member checks again and proposes again, as etcd does.
 *
 * A missing user and a wrong password give the same error after the same work: the missing user
 * is compared against a dummy hash at `cost` (the member's --bcrypt-cost).
 */
export async function verifyPassword(store: AuthStore, name: string, password: string, cost: number): Promise<number> {
  if (!store.enabled) throw AuthErrors.authNotEnabled();
  const hash = store.passwordHash(name);
  const revision = store.revision;
  const ok = await checkPassword(hash ?? dummyHash(cost), password);
  if (!ok || hash === undefined) throw AuthErrors.authFailed();
  return revision;
}
