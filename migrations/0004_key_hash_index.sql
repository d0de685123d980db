DROP INDEX "kv_key_rev";--> statement-breakpoint
CREATE INDEX "kv_keyhash_rev" ON "kv" USING btree (md5("key"),"main","sub");