-- docker-compose.yml: one database per member.
CREATE DATABASE edgecd1;
CREATE DATABASE edgecd2;
CREATE DATABASE edgecd3;
