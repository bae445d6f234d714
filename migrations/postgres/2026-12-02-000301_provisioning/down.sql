DROP TABLE provisioning;
