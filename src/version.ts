/** The etcd versions edgecd answers as (its API is etcd 3.4's): /version, status, etcd_server_version. */
export const ETCD_VERSION = { etcdserver: '3.4.23', etcdcluster: '3.4.0' };
