// A stand-alone Kubernetes (+ optional Keycloak) fake for bench/secrets.sh.
// Built as bench_fake_api (CMakeLists.txt, with the tests); `make bench` builds it.
//
//   fake_api DIR [--keycloak]
// writes DIR/kubeconfig, DIR/kc-admin-secret and DIR/env (KEY=VALUE lines
// for initkit-secrets), then DIR/ready, and serves until SIGTERM/SIGINT.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/keycloak_fake.h"
#include "tests/fakes/test_util.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [--keycloak]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  bool keycloak = argc > 2 && std::string(argv[2]) == "--keycloak";
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  initkit::testing::K8sFake k8s;
  k8s.WriteKubeconfig(dir + "/kubeconfig", "bench");
  std::unique_ptr<initkit::testing::KeycloakFake> kc;
  std::ofstream env(dir + "/env");
  env << "INITKIT_KUBECONFIG=" << dir << "/kubeconfig\n";
  if (keycloak) {
    kc = std::make_unique<initkit::testing::KeycloakFake>();
    initkit::testing::WriteFile(dir + "/kc-admin-secret", kc->options().admin_client_secret, 0600);
    env << "APP_ADMIN_SSO_ENABLED=true\n"
        << "INITKIT_KEYCLOAK_URL=" << kc->base_url() << "\n"
        << "INITKIT_KEYCLOAK_ADMIN_CLIENT_ID=" << kc->options().admin_client_id << "\n"
        << "INITKIT_KEYCLOAK_ADMIN_CLIENT_SECRET_FILE=" << dir << "/kc-admin-secret\n"
        << "INITKIT_KEYCLOAK_REALM=" << kc->options().realm << "\n"
        << "INITKIT_KEYCLOAK_CLIENT_ID=shop-admin\n"
        << "INITKIT_KEYCLOAK_REDIRECT_URI=https://shop.example/admin/*\n";
  }
  env.close();
  initkit::testing::WriteFile(dir + "/ready", "1");
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
