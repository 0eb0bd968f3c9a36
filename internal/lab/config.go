package lab

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Files of one VM's keepalived inside the lab directory.
type KeepalivedFiles struct {
	Conf, PID, VRRPPID, Log, State string
}

// keepalivedFiles names a VM's files in dir.
func keepalivedFiles(dir, vm string) KeepalivedFiles {
	p := func(ext string) string { return filepath.Join(dir, vm+ext) }
	return KeepalivedFiles{Conf: p(".conf"), PID: p(".pid"), VRRPPID: p(".vrrp.pid"), Log: p(".log"), State: p(".state")}
}

// notifyScript is what keepalived runs on every state change. keepalived
// appends "TYPE NAME STATE PRIORITY" to the configured command, whose
// first argument is the state file; the state is written atomically so a
// reader never sees a half-written file.
const notifyScript = `#!/bin/sh
# Written by bulwark lab: records keepalived's VRRP state for "bulwark lab status".
f="$1"; state="$4"
printf '%s\n' "$state" > "$f.tmp" && mv -f "$f.tmp" "$f"
`

// RenderKeepalived renders one node's configuration: a single VRRP
// instance for the VIP on the VM's interface, multicast adverts to
// 224.0.0.18 every AdvertSecs, both nodes starting as BACKUP so the
// priorities decide (and a node that hears nobody claims MASTER after
// three missed adverts — the split brain of step 1).
func RenderKeepalived(routerID string, vm VMSpec, notify, stateFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bulwark lab for %s.\n", vm.Name)
	b.WriteString("global_defs {\n")
	fmt.Fprintf(&b, "    router_id %s\n", routerID)
	// The notify script only writes into the lab directory; running it as
	// root without script security keeps the lab working from any
	// directory (script security refuses paths writable by others).
	b.WriteString("    script_user root\n")
	b.WriteString("}\n\n")
	b.WriteString("vrrp_instance VI_BWLAB {\n")
	b.WriteString("    state BACKUP\n")
	fmt.Fprintf(&b, "    interface %s\n", VMDevice)
	fmt.Fprintf(&b, "    virtual_router_id %d\n", VRID)
	fmt.Fprintf(&b, "    priority %d\n", vm.Priority)
	fmt.Fprintf(&b, "    advert_int %d\n", AdvertSecs)
	b.WriteString("    virtual_ipaddress {\n")
	fmt.Fprintf(&b, "        %s/24 dev %s\n", VIP, VMDevice)
	b.WriteString("    }\n")
	fmt.Fprintf(&b, "    notify \"%s %s\"\n", notify, stateFile)
	b.WriteString("}\n")
	return b.String()
}
