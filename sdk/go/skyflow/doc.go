// Skyflow vaults, users, service accounts, keys, roles and policies.
package skyflow
