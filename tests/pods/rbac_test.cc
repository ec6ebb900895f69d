// K8sRbac: the fake API server's authorisation, which the pod runner uses to
// enforce each example's own Role/RoleBinding.
#include "tests/fakes/k8s_rbac.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace initkit::testing {
namespace {

using nlohmann::json;

FakeRequest Req(const std::string& method, const std::string& path, const std::string& token,
                const std::string& query = "") {
  FakeRequest r;
  r.method = method;
  r.path = path;
  r.query = query;
  if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
  return r;
}

TEST(K8sRequestInfo, VerbsAndResourcesAsTheApiServerDerivesThem) {
  auto i = ParseK8sRequest("GET", "/apis/apps/v1/namespaces/shop/deployments/web", "");
  EXPECT_EQ(i.verb, "get");
  EXPECT_EQ(i.api_group, "apps");
  EXPECT_EQ(i.ns, "shop");
  EXPECT_EQ(i.resource, "deployments");
  EXPECT_EQ(i.name, "web");
  EXPECT_EQ(ParseK8sRequest("GET", "/api/v1/namespaces/shop/secrets", "").verb, "list");
  EXPECT_EQ(ParseK8sRequest("GET", "/api/v1/namespaces/shop/secrets", "watch=true").verb, "watch");
  EXPECT_EQ(ParseK8sRequest("POST", "/api/v1/namespaces/shop/secrets", "").verb, "create");
  EXPECT_EQ(ParseK8sRequest("PUT", "/api/v1/namespaces/shop/secrets/s", "").verb, "update");
  EXPECT_EQ(ParseK8sRequest("PATCH", "/apis/apps/v1/namespaces/shop/deployments/w", "").verb,
            "patch");
  EXPECT_EQ(ParseK8sRequest("DELETE", "/api/v1/namespaces/shop/secrets", "").verb,
            "deletecollection");
  auto sub = ParseK8sRequest("GET", "/apis/apps/v1/namespaces/shop/deployments/w/scale", "");
  EXPECT_EQ(sub.subresource, "scale");
  EXPECT_FALSE(ParseK8sRequest("GET", "/version", "").resource_request);
}

class RbacTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rbac.Apply(json::parse(R"({"kind":"Role","metadata":{"name":"r"},"rules":[
        {"apiGroups":[""],"resources":["secrets"],"resourceNames":["app"],"verbs":["get","update"]},
        {"apiGroups":[""],"resources":["secrets"],"verbs":["create"]},
        {"apiGroups":["apps"],"resources":["deployments"],"resourceNames":["web"],"verbs":["create"]}]})"),
                           "shop"));
    ASSERT_TRUE(rbac.Apply(json::parse(R"({"kind":"RoleBinding","metadata":{"name":"rb"},
        "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"},
        "subjects":[{"kind":"ServiceAccount","name":"sa"}]})"),
                           "shop"));
    token = rbac.IssueToken("shop", "sa");
    other = rbac.IssueToken("shop", "other");
  }
  int Status(const FakeRequest& r) {
    auto a = rbac.Authorize(r);
    return a ? a->status : 200;
  }
  K8sRbac rbac;
  std::string token, other;
};

TEST_F(RbacTest, AllowsExactlyWhatTheBoundRoleGrants) {
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/app", token)), 200);
  EXPECT_EQ(Status(Req("PUT", "/api/v1/namespaces/shop/secrets/app", token)), 200);
  EXPECT_EQ(Status(Req("POST", "/api/v1/namespaces/shop/secrets", token)), 200);
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/other", token)), 403);
  EXPECT_EQ(Status(Req("DELETE", "/api/v1/namespaces/shop/secrets/app", token)), 403);
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets", token)), 403);  // list
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/other/secrets/app", token)), 403);
  // create carries no name: a rule with resourceNames never allows it.
  EXPECT_EQ(Status(Req("POST", "/apis/apps/v1/namespaces/shop/deployments", token)), 403);
  // Another ServiceAccount of the namespace is not a subject of the binding.
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/app", other)), 403);
}

TEST_F(RbacTest, UnknownTokenIs401AndDenialCarriesTheApiServersMessage) {
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/app", "")), 401);
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/app", "sa-forged")), 401);
  auto denied = rbac.Authorize(Req("DELETE", "/api/v1/namespaces/shop/secrets/app", token));
  ASSERT_TRUE(denied);
  json body = json::parse(denied->body);
  EXPECT_EQ(body["reason"], "Forbidden");
  EXPECT_EQ(body["message"],
            "secrets \"app\" is forbidden: User \"system:serviceaccount:shop:sa\" cannot delete "
            "resource \"secrets\" in API group \"\" in the namespace \"shop\"");
}

TEST_F(RbacTest, DeletingTheRoleOrBindingTakesTheGrantAway) {
  ASSERT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/app", token)), 200);
  EXPECT_TRUE(rbac.Delete("RoleBinding", "shop", "rb"));
  EXPECT_EQ(Status(Req("GET", "/api/v1/namespaces/shop/secrets/app", token)), 403);
  EXPECT_FALSE(rbac.Delete("RoleBinding", "shop", "rb"));
  EXPECT_EQ(rbac.decisions().back().allowed, false);
}

}  // namespace
}  // namespace initkit::testing
