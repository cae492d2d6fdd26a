DROP TABLE extensions;
