package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxArtifactSize bounds what ReadArtifact reads: a signature bundle is a
// few KiB and an SBOM a few MiB, so anything larger is not one of ours.
const maxArtifactSize = 64 << 20

// Fetched is an artifact read back from a registry.
type Fetched struct {
	// ArtifactType is the manifest's artifactType.
	ArtifactType string
	// Annotations are the manifest's annotations.
	Annotations map[string]string
	// Subject is the digest of the manifest it is attached to, if any.
	Subject string
	// Data is the content of its single layer.
	Data []byte
}

// ReadArtifact reads the artifact manifest digest in repository (one found
// with Referrers) and the content of its single layer.
func ReadArtifact(ctx context.Context, repository, digest string, opts ...Option) (Fetched, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", digest, err)
	}
	defer o.release()
	repo, err := parseRepository(repository, o)
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", digest, err)
	}
	ref, err := digestRef(repo, digest)
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: not a digest: %w", digest, err)
	}
	ropts := o.remoteOptions(ctx)
	img, err := remote.Image(ref, ropts...)
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", ref, explain(err, repo))
	}
	m, err := img.Manifest()
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", ref, explain(err, repo))
	}
	if len(m.Layers) != 1 {
		return Fetched{}, fmt.Errorf("read artifact %s: %d layers, want the 1 an artifact holds", ref, len(m.Layers))
	}
	f := Fetched{Annotations: m.Annotations}
	raw, err := img.RawManifest()
	if err == nil {
		var extra struct {
			ArtifactType string         `json:"artifactType"`
			Subject      *v1.Descriptor `json:"subject"`
		}
		if jerr := json.Unmarshal(raw, &extra); jerr == nil {
			f.ArtifactType = extra.ArtifactType
			if extra.Subject != nil {
				f.Subject = extra.Subject.Digest.String()
			}
		}
	}
	if m.Layers[0].Size > maxArtifactSize {
		return Fetched{}, fmt.Errorf("read artifact %s: its layer is %d bytes, more than an attestation can be", ref, m.Layers[0].Size)
	}
	l, err := remote.Layer(repo.Digest(m.Layers[0].Digest.String()), ropts...)
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", ref, explain(err, repo))
	}
	rc, err := l.Compressed()
	if err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", ref, explain(err, repo))
	}
	defer rc.Close()
	if f.Data, err = io.ReadAll(io.LimitReader(rc, maxArtifactSize)); err != nil {
		return Fetched{}, fmt.Errorf("read artifact %s: %w", ref, explain(err, repo))
	}
	return f, nil
}

// Manifests lists the platform manifests of the index digest in
// repository, as the index describes them.
func Manifests(ctx context.Context, repository, digest string, opts ...Option) ([]v1.Descriptor, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", digest, err)
	}
	defer o.release()
	repo, err := parseRepository(repository, o)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", digest, err)
	}
	ref, err := digestRef(repo, digest)
	if err != nil {
		return nil, fmt.Errorf("read index %s: not a digest: %w", digest, err)
	}
	idx, err := remote.Index(ref, o.remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, explain(err, repo))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, explain(err, repo))
	}
	return im.Manifests, nil
}
