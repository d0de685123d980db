/** What GET /version answers: the etcd versions whose API edgecd speaks. */
export const VERSION = { etcdserver: '3.4.23', etcdcluster: '3.4.0' };
