package clitest

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestVocabularyErrors(t *testing.T) {
	app := &cli.App{Name: "mirror-image", Flags: []cli.Flag{
		&cli.StringFlag{Name: "registry-ca-file", EnvVars: []string{"THOTH_REGISTRY_CA_FILE"}},
		&cli.StringFlag{Name: "thoth-ca-file", EnvVars: []string{"THOTH_CA_FILE"}},
		&cli.StringFlag{Name: "brand-new"},
		&cli.StringFlag{Name: "ca-file", EnvVars: []string{"THOTH_CA_FILE"}},
		&cli.StringFlag{Name: "output"},
	}}
	want := []string{
		`mirror-image: --thoth-ca-file reads [THOTH_CA_FILE]; the vocabulary says "THOTH_USER_API_CA_FILE"`,
		"mirror-image: --brand-new is not in clitest's vocabulary: add it there (a name that means one thing everywhere)",
		"mirror-image: deprecated --ca-file must be hidden",
		`mirror-image: --output reads []; the vocabulary says "THOTH_OUTPUT_FORMAT"`,
	}
	if got := vocabularyErrors(app); !slices.Equal(got, want) {
		t.Errorf("errors\n%q\nwant\n%q", got, want)
	}
}
