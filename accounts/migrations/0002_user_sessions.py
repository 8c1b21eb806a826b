"""Create `user_sessions`: Django's session table plus the user id and the trail reference."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_users'),
    ]

    operations = [
        migrations.CreateModel(
            name='UserSession',
            fields=[
                ('session_key', models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name='session key')),
                ('session_data', models.TextField(verbose_name='session data')),
                ('expire_date', models.DateTimeField(db_index=True, verbose_name='expire date')),
                ('user_id', models.BigIntegerField(null=True)),
                ('session_ref', models.CharField(max_length=64, null=True)),
            ],
            options={
                'db_table': 'user_sessions',
                'indexes': [models.Index(fields=['user_id', 'expire_date'], name='user_sessions_user_expiry')],
            },
        ),
    ]
