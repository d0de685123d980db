CREATE TABLE "leases" (
	"id" bigint PRIMARY KEY NOT NULL,
	"ttl" bigint NOT NULL
);
