import factory

from siyu.accounts.models import Corp, Department, Employee, EmployeeDepartment, User


class CorpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Corp

    corp_id = factory.Sequence(lambda n: f"wwcorp{n:04d}")
    name = factory.Sequence(lambda n: f"企业{n}")
    callback_token = "cbtoken"
    encoding_aes_key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
    contact_secret = "contact-secret"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    corp = factory.SubFactory(CorpFactory)
    wecom_id = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"部门{n}")
    parent = None
    path = factory.LazyAttribute(
        lambda o: f"{o.parent.path if o.parent else '/'}{o.wecom_id}/")


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee
        skip_postgeneration_save = True

    corp = factory.SubFactory(CorpFactory)
    userid = factory.Sequence(lambda n: f"emp{n:04d}")
    name = factory.Sequence(lambda n: f"员工{n}")

    @factory.post_generation
    def departments(self, create, extracted, **kwargs):
        for dept in extracted or []:
            EmployeeDepartment.objects.create(corp=self.corp, employee=self, department=dept)
        if extracted:
            self.main_department = extracted[0]
            self.save(update_fields=["main_department"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    corp = factory.SubFactory(CorpFactory)
    username = factory.Sequence(lambda n: f"user{n:04d}")
    role = "staff"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-1")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()
