package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/store"
)

// newIdentity builds the identity service from the configuration: the
// secret key from auth.secret(_file) or data_dir/secret.key (created on
// first start), OIDC when auth.oidc.issuer is set, e-mailed sign-in links
// when smtp.host is set. The caller mounts svc.Routes() and calls
// svc.Close() on shutdown, after the HTTP server has stopped.
func newIdentity(ctx context.Context, cfg config.Config, st *store.Store, dataDir string, logger *slog.Logger) (*identity.Service, error) {
	var (
		key []byte
		err error
	)
	if cfg.Auth.Secret.IsSet() {
		key, err = identity.ParseSecret(cfg.Auth.Secret.Reveal())
		if err != nil {
			return nil, fmt.Errorf("auth.secret: %w", err)
		}
	} else {
		path := filepath.Join(dataDir, identity.SecretFile)
		var created bool
		key, created, err = identity.LoadOrCreateSecret(path)
		if err != nil {
			return nil, err
		}
		if created {
			logger.Info("created secret key", "path", path)
		}
		if st.Dialect() == store.DialectPostgres {
			logger.Info("secret key is per data directory: daemons sharing this database must share it through auth.secret_file", "path", path)
		}
	}
	opts := identity.Options{
		Store:        st,
		Secret:       key,
		PublicURL:    cfg.BaseURL(),
		Logger:       logger,
		SessionTTL:   cfg.Auth.SessionTTL,
		LinkTTL:      cfg.Auth.LinkTTL,
		EmailLinkTTL: cfg.Auth.EmailLinkTTL,
	}
	if o := cfg.Auth.OIDC; o.Enabled() {
		opts.OIDC = &identity.OIDCOptions{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal()}
	}
	if m := cfg.SMTP; m.Enabled() {
		opts.Mailer = &identity.SMTPMailer{Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password.Reveal(), From: m.From, StartTLS: m.StartTLS}
	}
	svc, err := identity.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	logger.Info("sign-in", "mode", string(svc.Mode()))
	return svc, nil
}
