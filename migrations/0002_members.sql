CREATE TABLE "members" (
	"id" bigint PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"peer_urls" text NOT NULL,
	"client_urls" text NOT NULL,
	"is_learner" boolean NOT NULL
);
