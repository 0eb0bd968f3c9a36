// Package e2e holds end-to-end tests that drive a live `bulwark server
// --auth keystone` with the unmodified OpenStack command-line clients
// (Debian's python3-openstackclient and python3-neutronclient), the way
// operators script Neutron: the keepalived walk-through of
// shared/reference/neutron-api/scenario.md.
//
// The tests skip when `openstack` or `neutron` is missing, and fail instead
// when CI=true (scripts/setup.sh installs them when run as root).
// BULWARK_E2E_DEBUG=1 runs every command with --debug, so failures show
// the HTTP exchanges; BULWARK_E2E_TRANSCRIPT=FILE writes every command and
// its output to FILE.
package e2e
