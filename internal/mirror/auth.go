package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// side is one end of the copy, for messages.
type side struct {
	// flag is the prefix of the side's flags: "--src" or "--dst".
	flag string
	// what names the side in messages.
	what string
	// access is what the side needs on its repository.
	access string
}

// The two sides; never modified.
var (
	sourceSide      = side{flag: "--src", what: "source", access: "pull"}
	destinationSide = side{flag: "--dst", what: "destination", access: "push"}
)

// credentials decides the credentials of one side for image: the user and password of
// reg, else reg's auth file entry for the image's registry, else (when token is not nil)
// the service-account token as the password of TokenUser, else none. It returns the
// secret too, for redaction, and where the credentials came from.
func credentials(ctx context.Context, s side, reg Registry, image string, token func() (string, error), logger *slog.Logger) (authn.Authenticator, string, Credentials, error) {
	if reg.User != "" {
		logger.DebugContext(ctx, "registry credentials from the flags", "side", s.what, "image", image,
			"credentials", credential.Basic{Username: reg.User, Password: reg.Password})
		return &authn.Basic{Username: reg.User, Password: reg.Password}, reg.Password, CredentialsUser, nil
	}
	if reg.AuthFile != "" {
		cfg, err := credential.LoadDockerConfig(reg.AuthFile)
		if err != nil {
			return nil, "", CredentialsAuthFile, hint.AuthFileError(s == sourceSide, usage.Wrap(err))
		}
		basic, found, err := cfg.Lookup(image)
		if err != nil {
			return nil, "", CredentialsAuthFile, hint.AuthFileError(s == sourceSide, usage.Wrap(err))
		}
		if found {
			logger.DebugContext(ctx, "registry credentials from the auth file", "side", s.what, "image", image, "credentials", basic)
			return &authn.Basic{Username: basic.Username, Password: basic.Password}, basic.Password, CredentialsAuthFile, nil
		}
		logger.WarnContext(ctx, "the auth file has no entry for the image's registry", "side", s.what, "image", image)
	}
	if token != nil {
		tok, err := token()
		if err != nil {
			return nil, "", CredentialsToken, err
		}
		logger.DebugContext(ctx, "registry credentials: the service-account token", "side", s.what, "image", image, "user", TokenUser)
		return &authn.Basic{Username: TokenUser, Password: tok}, tok, CredentialsToken, nil
	}
	logger.DebugContext(ctx, "no registry credentials: anonymous access", "side", s.what, "image", image)
	return authn.Anonymous, "", CredentialsNone, nil
}

// readToken reads the service-account token file at path. Only the file is read:
// mirror-image does without client-go and its kubeconfig handling. Errors never hold the
// token; a missing file wraps credential.ErrNoToken.
func readToken(path string) (string, error) {
	tok, err := credential.ReadTokenFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", hint.TokenError(fmt.Errorf("%w: %s does not exist; run in a pod that mounts it", credential.ErrNoToken, path))
	}
	if err != nil {
		return "", hint.TokenError(err)
	}
	return tok, nil
}
