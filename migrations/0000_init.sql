CREATE TABLE "kv" (
	"main" bigint NOT NULL,
	"sub" integer NOT NULL,
	"key" "bytea" NOT NULL,
	"value" "bytea" NOT NULL,
	"create_rev" bigint NOT NULL,
	"version" bigint NOT NULL,
	"lease" bigint NOT NULL,
	"tombstone" boolean NOT NULL,
	CONSTRAINT "kv_main_sub_pk" PRIMARY KEY("main","sub")
);
--> statement-breakpoint
CREATE TABLE "meta" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "raft_log" (
	"idx" bigint PRIMARY KEY NOT NULL,
	"term" bigint NOT NULL,
	"kind" smallint NOT NULL,
	"data" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "raft_snapshot" (
	"id" smallint PRIMARY KEY NOT NULL,
	"idx" bigint NOT NULL,
	"term" bigint NOT NULL,
	"conf_state" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "raft_state" (
	"id" smallint PRIMARY KEY NOT NULL,
	"term" bigint NOT NULL,
	"vote" text NOT NULL,
	"commit" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "kv_key_rev" ON "kv" USING btree ("key","main","sub");