// Package osclient builds an authenticated gophercloud Networking client the
// way the openstack CLI finds its credentials: --os-cloud / $OS_CLOUD from
// clouds.yaml, else the OS_* variables of an openrc, else (no credentials at
// all) a noauth Bulwark server at a plain URL.
package osclient

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
)

// DefaultURL is where a local `bulwark server` listens.
const DefaultURL = "http://127.0.0.1:9696"

// Options selects the credentials and the endpoint.
type Options struct {
	// Cloud names an entry of clouds.yaml (--os-cloud); "" means $OS_CLOUD.
	Cloud string
	// URL overrides the Networking endpoint from the catalog; without
	// credentials it is the noauth server's root (default DefaultURL).
	URL string
	// Region picks the catalog region ("" means $OS_REGION_NAME).
	Region string
	// Timeout bounds each HTTP request (0 means 90 s).
	Timeout time.Duration
}

// Network returns a client for the Networking API (its ResourceBase ends in
// "v2.0/").
func Network(ctx context.Context, o Options) (*gophercloud.ServiceClient, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	cloud := o.Cloud
	if cloud == "" {
		cloud = os.Getenv("OS_CLOUD")
	}
	var (
		ao  gophercloud.AuthOptions
		eo  gophercloud.EndpointOpts
		err error
	)
	switch {
	case cloud != "":
		ao, eo, _, err = clouds.Parse(clouds.WithCloudName(cloud))
		if err != nil {
			return nil, fmt.Errorf("clouds.yaml cloud %q: %w", cloud, err)
		}
		ao.AllowReauth = true
	case os.Getenv("OS_AUTH_URL") != "":
		ao, err = AuthOptionsFromEnv()
		if err != nil {
			return nil, err
		}
	default:
		return noauth(o.URL, timeout), nil
	}
	if r := o.Region; r != "" {
		eo.Region = r
	} else if eo.Region == "" {
		eo.Region = os.Getenv("OS_REGION_NAME")
	}
	provider, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("identity endpoint %q: %w", ao.IdentityEndpoint, err)
	}
	provider.HTTPClient = http.Client{Timeout: timeout}
	if err := openstack.Authenticate(ctx, provider, ao); err != nil {
		return nil, fmt.Errorf("authenticate at %s: %w", ao.IdentityEndpoint, err)
	}
	sc, err := openstack.NewNetworkV2(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("network endpoint from the catalog: %w", err)
	}
	if o.URL != "" {
		sc.Endpoint = strings.TrimRight(o.URL, "/") + "/"
		sc.ResourceBase = sc.Endpoint + "v2.0/"
	}
	return sc, nil
}

func noauth(url string, timeout time.Duration) *gophercloud.ServiceClient {
	if url == "" {
		url = DefaultURL
	}
	base := strings.TrimRight(url, "/") + "/"
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: timeout}}
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: base, ResourceBase: base + "v2.0/"}
}

// AuthOptionsFromEnv reads the variables an openrc sets, including the
// user and project domains (gophercloud's own reader knows only
// OS_DOMAIN_*).
func AuthOptionsFromEnv() (gophercloud.AuthOptions, error) {
	env := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: env("OS_AUTH_URL"),
		Username:         env("OS_USERNAME"),
		UserID:           env("OS_USER_ID", "OS_USERID"),
		Password:         env("OS_PASSWORD"),
		DomainName:       env("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"),
		DomainID:         env("OS_USER_DOMAIN_ID", "OS_DOMAIN_ID"),
		AllowReauth:      true, // renew the token before it expires
	}
	if ao.Username == "" && ao.UserID == "" {
		return ao, fmt.Errorf("credentials from OS_*: OS_USERNAME or OS_USER_ID is needed")
	}
	if ao.Password == "" {
		return ao, fmt.Errorf("credentials from OS_*: OS_PASSWORD is needed")
	}
	if ao.Username != "" && ao.DomainName == "" && ao.DomainID == "" {
		ao.DomainID = "default"
	}
	scope := &gophercloud.AuthScope{ProjectID: env("OS_PROJECT_ID", "OS_TENANT_ID"), ProjectName: env("OS_PROJECT_NAME", "OS_TENANT_NAME"),
		DomainName: env("OS_PROJECT_DOMAIN_NAME"), DomainID: env("OS_PROJECT_DOMAIN_ID")}
	if scope.ProjectID == "" && scope.ProjectName == "" {
		return ao, fmt.Errorf("credentials from OS_*: OS_PROJECT_NAME or OS_PROJECT_ID is needed")
	}
	if scope.ProjectName != "" && scope.DomainName == "" && scope.DomainID == "" {
		scope.DomainName, scope.DomainID = ao.DomainName, ao.DomainID
	}
	ao.Scope = scope
	return ao, nil
}
