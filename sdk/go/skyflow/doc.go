// Skyflow service accounts, keys, roles and policies.
package skyflow
