package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
)

// PrintJSON writes the report as {"vip", "ports", "findings"}.
func PrintJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// PrintText writes the report for a person: the peers as a table, then
// each finding with its fix commands ready to paste.
func PrintText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "VIP %s: %d peer port(s)\n", r.VIP, len(r.Ports))
	if len(r.Ports) > 0 {
		t := table.NewWriter()
		t.SetStyle(table.StyleDefault)
		t.AppendHeader(table.Row{"Port", "Name", "Fixed IPs", "Port security", "Security groups", "Allowed address pairs"})
		for _, p := range r.Ports {
			var pairs []string
			for _, ap := range p.AllowedAddressPairs {
				if ap.MACAddress == "" || strings.EqualFold(ap.MACAddress, p.MACAddress) {
					pairs = append(pairs, ap.IPAddress)
				} else {
					pairs = append(pairs, ap.IPAddress+" (MAC "+ap.MACAddress+")")
				}
			}
			psec := "enabled"
			if !p.PortSecurityEnabled {
				psec = "DISABLED"
			}
			t.AppendRow(table.Row{p.ID, p.Name, strings.Join(p.FixedIPs, "\n"), psec,
				strings.Join(p.GroupNames, "\n"), strings.Join(pairs, "\n")})
		}
		b.WriteString(t.Render())
		b.WriteString("\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "\n%-7s %s\n", strings.ToUpper(f.Severity), f.Title)
		for _, line := range wrap(f.Detail, 88) {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		if len(f.Fix) > 0 {
			b.WriteString("        fix:\n")
			for _, c := range f.Fix {
				fmt.Fprintf(&b, "          %s\n", c)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(s) {
		if cur.Len() > 0 && cur.Len()+1+len(word) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
