// Command k8scheck strictly decodes Kubernetes manifests into the
// k8s.io/api types, so an unknown or misspelled field or a wrong type is an
// error, and checks what chatd's manifests must keep true: the selector
// matches the pod labels, probes use a declared port, and
// terminationGracePeriodSeconds exceeds CHAT_DRAIN_TIMEOUT + 5 s.
//
//	k8scheck deploy/k8s/deployment.yaml ...
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// defaultDrain is chatd's CHAT_DRAIN_TIMEOUT default.
const defaultDrain = 10 * time.Second

var (
	docSep  = regexp.MustCompile(`(?m)^---\s*$`)
	comment = regexp.MustCompile(`(?m)^\s*#.*$`)
)

func main() {
	failed := 0
	for _, path := range os.Args[1:] {
		failed += checkFile(path)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func checkFile(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", path, err)
		return 1
	}
	failed := 0
	for i, doc := range docSep.Split(string(data), -1) {
		kind, err := check(filepath.Dir(path), []byte(doc))
		switch {
		case err != nil:
			fmt.Printf("FAIL %s (document %d): %v\n", path, i+1, err)
			failed++
		case kind != "":
			fmt.Printf("ok   %s: %s\n", path, kind)
		}
	}
	return failed
}

// check decodes one document strictly by its kind; it returns "" for an
// empty document. dir is the file's folder (a Kustomization's resources are
// relative to it).
func check(dir string, doc []byte) (string, error) {
	if len(bytes.TrimSpace(stripComments(doc))) == 0 {
		return "", nil
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return "", err
	}
	kind := tm.APIVersion + " " + tm.Kind
	switch kind {
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict(doc, &d); err != nil {
			return kind, err
		}
		return kind, checkDeployment(&d)
	case "v1 Service":
		return kind, yaml.UnmarshalStrict(doc, new(corev1.Service))
	case "v1 Secret":
		return kind, yaml.UnmarshalStrict(doc, new(corev1.Secret))
	case "policy/v1 PodDisruptionBudget":
		return kind, yaml.UnmarshalStrict(doc, new(policyv1.PodDisruptionBudget))
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return kind, yaml.UnmarshalStrict(doc, new(autoscalingv2.HorizontalPodAutoscaler))
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return kind, checkKustomization(dir, doc)
	}
	return kind, fmt.Errorf("kind %q is not known to k8scheck", kind)
}

// kustomization is the part of a Kustomization that k8scheck reads.
type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Resources       []string `json:"resources"`
}

// checkKustomization requires every listed resource to exist and pass check.
func checkKustomization(dir string, doc []byte) error {
	var k kustomization
	if err := yaml.UnmarshalStrict(doc, &k); err != nil {
		return err
	}
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			return fmt.Errorf("resource %s: %w", r, err)
		}
		if _, err := check(dir, data); err != nil {
			return fmt.Errorf("resource %s: %w", r, err)
		}
	}
	return nil
}

func stripComments(doc []byte) []byte {
	return comment.ReplaceAll(doc, nil)
}

func checkDeployment(d *appsv1.Deployment) error {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		return fmt.Errorf("spec.selector does not match the pod template's labels")
	}
	spec := d.Spec.Template.Spec
	for _, c := range spec.Containers {
		if err := checkProbes(c); err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		drain, err := drainTimeout(c)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		grace := spec.TerminationGracePeriodSeconds
		if grace == nil || time.Duration(*grace)*time.Second <= drain+5*time.Second {
			return fmt.Errorf("terminationGracePeriodSeconds must exceed CHAT_DRAIN_TIMEOUT (%s) + 5s", drain)
		}
	}
	return nil
}

// checkProbes requires HTTP readiness and liveness probes on a declared port.
func checkProbes(c corev1.Container) error {
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
		ports[fmt.Sprint(p.ContainerPort)] = true
	}
	for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			return fmt.Errorf("%s: missing or not httpGet", name)
		}
		if !ports[p.HTTPGet.Port.String()] {
			return fmt.Errorf("%s: port %s is not a container port", name, p.HTTPGet.Port.String())
		}
	}
	return nil
}

// drainTimeout is the container's CHAT_DRAIN_TIMEOUT, or chatd's default.
func drainTimeout(c corev1.Container) (time.Duration, error) {
	for _, e := range c.Env {
		if e.Name == "CHAT_DRAIN_TIMEOUT" {
			d, err := time.ParseDuration(e.Value)
			if err != nil {
				return 0, fmt.Errorf("CHAT_DRAIN_TIMEOUT: %w", err)
			}
			return d, nil
		}
	}
	return defaultDrain, nil
}
